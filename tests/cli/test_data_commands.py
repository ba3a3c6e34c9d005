"""The data commands through the real CLI runner: exit codes, files written, errors reported."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from tests.conftest import ToneWriter
from vietser.cli import app
from vietser.features.extract import read_features

runner = CliRunner()


def _ravdess_tree(root: Path, write_tone: ToneWriter) -> None:
    for actor in (1, 2, 3):
        for emotion in ("01", "05", "06", "03"):
            name = f"Actor_{actor:02d}/03-01-{emotion}-01-01-01-{actor:02d}.wav"
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            write_tone(name, duration_s=0.5).rename(target)


def test_manifest_command_writes_mapped_manifest_and_reports_left_out(tmp_path: Path, write_tone: ToneWriter) -> None:
    root = tmp_path / "ravdess"
    _ravdess_tree(root, write_tone)
    out = tmp_path / "manifest.csv"

    result = runner.invoke(app, ["manifest", "ravdess", str(root), "-o", str(out)])

    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    assert sorted(frame["label"].unique()) == ["angry", "calm", "panic"]
    assert len(frame) == 9
    assert "happy: 3" in result.output


def test_manifest_command_on_wrong_folder_exits_2_with_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["manifest", "ravdess", str(tmp_path), "-o", str(tmp_path / "m.csv")])

    assert result.exit_code == 2
    assert "error" in result.output.lower()


def test_features_command_skips_bad_file_by_path_and_writes_the_rest(tmp_path: Path, write_tone: ToneWriter) -> None:
    rows = []
    for i, speaker in enumerate(["s1", "s1", "s2", "s2"]):
        path = write_tone(f"clip{i}.wav", f0=180 + 20 * i, duration_s=0.8, seed=i)
        rows.append({"path": path.name, "label": "calm", "speaker": speaker, "split": "train"})
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00not really audio")
    rows.append({"path": broken.name, "label": "angry", "speaker": "s3", "split": "test"})
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    out = tmp_path / "features.parquet"

    result = runner.invoke(app, ["features", str(manifest), "-o", str(out)])

    assert result.exit_code == 0, result.output
    assert "1 skipped" in result.output
    assert "broken.wav" in result.output
    table = read_features(out)
    assert len(table) == 4
    assert "prosody.f0_mean_hz" in table.columns


def test_features_of_a_manifest_without_split_deal_speakers_out_with_a_notice(
    tmp_path: Path, write_tone: ToneWriter
) -> None:
    rows = [
        {"path": write_tone(f"clip{i}.wav", f0=160 + 15 * i, duration_s=0.6, seed=i).name, "label": "vui", "speaker": f"s{i}"}
        for i in range(5)
    ]
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    out = tmp_path / "features.parquet"

    result = runner.invoke(
        app, ["features", str(manifest), "-o", str(out), "--label-map", "vui=calm", "--test-fraction", "0.4", "--seed", "3"]
    )

    assert result.exit_code == 0, result.output
    assert "no split column" in result.output and "seed 3" in result.output
    table = read_features(out)
    assert table.groupby("split")["speaker"].nunique().to_dict() == {"train": 2, "dev": 1, "test": 2}
    assert set(table["label"]) == {"calm"}
