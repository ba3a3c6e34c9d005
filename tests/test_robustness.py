"""A corpus of bad inputs through `features`, `run` and `predict`: each gets its documented outcome.

| input | outcome |
|---|---|
| zero-length file | skipped: corrupt or unreadable |
| header-only WAV | skipped: no samples |
| truncated WAV | decoded up to the cut, decided |
| NaN samples | skipped: corrupt (NaN) |
| 8 kHz / 96 kHz | resampled to 16 kHz, decided |
| stereo | mixed to mono, decided |
| 30-minute file | skipped: too long (split it into utterances) |
| text file named .wav | skipped: corrupt or unreadable |
| unicode and spaces in the path | decided |
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from tests.conftest import make_voice_like
from vietser.cli import app
from vietser.data.manifest import load_manifest
from vietser.features.extract import extract_features
from vietser.run.predict import load_predictor

SKIPPED = {
    "zero.wav": "corrupt",
    "header-only.wav": "no samples",
    "nan.wav": "NaN",
    "thirty-minutes.wav": "too long",
    "not-audio.wav": "corrupt",
}
DECIDED = {"truncated.wav", "rate-8k.wav", "rate-96k.wav", "stereo.wav", "giọng nói thử 1.wav"}


def _write_bad_corpus(folder: Path, source: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    samples, rate = sf.read(source, dtype="float32")
    (folder / "zero.wav").write_bytes(b"")
    sf.write(folder / "header-only.wav", np.zeros(0, dtype=np.float32), rate)
    whole = folder / "whole.wav"
    sf.write(whole, samples, rate)
    (folder / "truncated.wav").write_bytes(whole.read_bytes()[: int(len(whole.read_bytes()) * 0.8)])
    whole.unlink()
    poisoned = samples.copy()
    poisoned[len(poisoned) // 2] = np.nan
    sf.write(folder / "nan.wav", poisoned, rate, subtype="FLOAT")
    for target in (8_000, 96_000):
        import soxr

        sf.write(folder / f"rate-{target // 1000}k.wav", soxr.resample(samples, rate, target), target)
    sf.write(folder / "stereo.wav", np.stack([samples, samples * 0.5], axis=1), rate)
    with sf.SoundFile(folder / "thirty-minutes.wav", "w", samplerate=rate, channels=1, subtype="PCM_16") as long:
        block = make_voice_like(duration_s=60.0, sample_rate=rate)
        for _ in range(30):
            long.write(block)
    (folder / "not-audio.wav").write_text("RIFF but really just text")
    shutil.copy(source, folder / "giọng nói thử 1.wav")


@pytest.fixture(scope="module")
def bad_corpus(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    manifest = load_manifest(small_demo)
    source = Path(manifest[manifest["split"] == "test"]["path"].iloc[0])
    folder = tmp_path_factory.mktemp("bad") / "bad inputs"
    _write_bad_corpus(folder, source)
    return folder


def _outcomes(decided: list[str], skipped: list[tuple[str, str]]) -> None:
    assert {Path(p).name for p in decided} == DECIDED
    reasons = {Path(path).name: reason for path, reason in skipped}
    assert set(reasons) == set(SKIPPED)
    for name, expected in SKIPPED.items():
        assert expected.lower() in reasons[name].lower(), (name, reasons[name])


def test_features_skip_and_report_each_bad_file(bad_corpus: Path) -> None:
    files = sorted(bad_corpus.iterdir())
    manifest = pd.DataFrame({"clip_id": [f.name for f in files], "path": [str(f) for f in files], "speaker": "x"})

    result = extract_features(manifest)

    _outcomes(list(result.frame["path"]), [(s.path, s.reason) for s in result.skipped])
    assert np.isfinite(result.frame.filter(like="prosody.").to_numpy(dtype=float)).all()


def test_predict_decides_usable_files_and_lists_the_rest(bad_corpus: Path, trained_run: Path) -> None:
    result = load_predictor(trained_run).predict_paths(sorted(bad_corpus.iterdir()))

    _outcomes([d.path or "" for d in result.decisions], [(s.path, s.reason) for s in result.skipped])


def test_run_counts_bad_files_in_its_summary(bad_corpus: Path, small_demo: Path, tmp_path: Path) -> None:
    manifest = pd.read_csv(small_demo)
    manifest["path"] = [str(small_demo.parent / p) for p in manifest["path"]]
    bad = [{"path": str(f), "label": "calm", "speaker": "bad-speaker", "split": "test"} for f in sorted(bad_corpus.iterdir())]
    combined = tmp_path / "manifest.csv"
    pd.concat([manifest, pd.DataFrame(bad)]).to_csv(combined, index=False)
    config = tmp_path / "c.toml"
    config.write_text("n_bootstrap = 200\n[acoustic]\ncv_folds = 2\n")

    result = CliRunner().invoke(app, ["run", str(combined), "-o", str(tmp_path / "run"), "-c", str(config)])

    assert result.exit_code == 0, result.output
    assert f"{len(SKIPPED)} skipped" in result.output
    for name in SKIPPED:
        assert name in result.output
    skipped = pd.read_csv(tmp_path / "run" / "skipped.csv")
    assert sorted(Path(p).name for p in skipped["path"]) == sorted(SKIPPED)
