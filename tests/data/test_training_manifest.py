"""A manifest becomes a training set: its own splits, or speakers dealt out when it has none."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ToneWriter
from vietser.data.manifest import has_split_column, load_manifest
from vietser.data.splits import load_training_manifest
from vietser.errors import ConfigError, ManifestError


def _manifest(tmp_path: Path, write_tone: ToneWriter, with_split: bool, n_speakers: int = 10) -> Path:
    rows = []
    for s in range(n_speakers):
        for c in range(2):
            path = write_tone(f"s{s}_{c}.wav", f0=150 + 10 * s, duration_s=0.2, seed=s * 2 + c)
            row = {"path": path.name, "label": ["quiet", "cross"][c], "speaker": f"spk{s}"}
            rows.append({**row, "split": "train" if s < 6 else "dev" if s < 8 else "test"} if with_split else row)
    path = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


LABELS = ["quiet=calm", "cross=angry"]


def test_a_manifest_without_split_gets_speakers_dealt_out_by_the_fractions(tmp_path: Path, write_tone: ToneWriter) -> None:
    path = _manifest(tmp_path, write_tone, with_split=False)

    manifest = load_training_manifest(path, LABELS, dev_fraction=0.2, test_fraction=0.3, seed=4)

    assert manifest.dealt
    speakers = manifest.frame.groupby("split")["speaker"].nunique().to_dict()
    assert speakers == {"train": 5, "dev": 2, "test": 3}
    assert manifest.frame.groupby("speaker")["split"].nunique().max() == 1
    assert set(manifest.frame["label"]) == {"calm", "angry"}
    assert "no split column" in manifest.notice(path) and "seed 4" in manifest.notice(path)
    assert "train 5, dev 2, test 3" in manifest.notice(path)


def test_the_dealt_split_depends_on_the_seed_only(tmp_path: Path, write_tone: ToneWriter) -> None:
    path = _manifest(tmp_path, write_tone, with_split=False)

    def splits(seed: int) -> dict[str, str]:
        frame = load_training_manifest(path, LABELS, seed=seed).frame
        return dict(zip(frame["speaker"], frame["split"]))

    assert splits(1) == splits(1)
    assert splits(1) != splits(2)


def test_a_manifest_with_split_keeps_its_own(tmp_path: Path, write_tone: ToneWriter) -> None:
    path = _manifest(tmp_path, write_tone, with_split=True)

    manifest = load_training_manifest(path, LABELS, seed=9)

    assert not manifest.dealt
    pd.testing.assert_frame_equal(manifest.frame, load_manifest(path, LABELS))


def test_fractions_that_leave_nothing_to_train_on_are_refused(tmp_path: Path, write_tone: ToneWriter) -> None:
    path = _manifest(tmp_path, write_tone, with_split=False, n_speakers=3)

    with pytest.raises(ConfigError, match="leave a share for training"):
        load_training_manifest(path, LABELS, dev_fraction=0.5, test_fraction=0.5)


def test_loading_a_split_less_manifest_directly_names_the_way_out(tmp_path: Path, write_tone: ToneWriter) -> None:
    path = _manifest(tmp_path, write_tone, with_split=False, n_speakers=2)

    assert not has_split_column(path)
    with pytest.raises(ManifestError, match="--dev-fraction"):
        load_manifest(path, LABELS)


def test_a_missing_manifest_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="not found"):
        has_split_column(tmp_path / "absent.csv")
