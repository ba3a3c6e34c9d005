"""Classify new audio files with a trained run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import ToneWriter
from vietser.data.manifest import load_manifest
from vietser.errors import AudioError, ConfigError
from vietser.predict import audio_files, load_predictor


def _demo_clips(small_demo: Path, n: int) -> list[Path]:
    manifest = load_manifest(small_demo)
    return [Path(p) for p in manifest[manifest["split"] == "test"]["path"][:n]]


def test_predict_gives_one_decision_per_file_with_route_and_reasoner(trained_run: Path, small_demo: Path) -> None:
    files = _demo_clips(small_demo, 4)

    result = load_predictor(trained_run).predict_paths(files)

    assert [d.path for d in result.decisions] == [str(f.resolve()) for f in files]
    for decision in result.decisions:
        assert decision.label in ("calm", "angry", "panic")
        assert decision.reasoner in ("acoustic", "rules")
        assert decision.evidence and decision.evidence[0].text_en


def test_bad_file_is_skipped_by_path_and_others_decided(trained_run: Path, small_demo: Path, tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, dtype=np.float32), 16000)
    files = _demo_clips(small_demo, 2) + [silent]

    result = load_predictor(trained_run).predict_paths(files)

    assert len(result.decisions) == 2
    assert [s.path for s in result.skipped] == [str(silent.resolve())]
    assert "silent" in result.skipped[0].reason


def test_single_file_call_raises_audio_error_for_unusable_audio(trained_run: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")

    with pytest.raises(AudioError, match="empty.wav"):
        load_predictor(trained_run)(empty)


def test_audio_files_lists_folder_audio_only(tmp_path: Path, write_tone: ToneWriter) -> None:
    write_tone("a/one.wav")
    write_tone("a/b/two.flac")
    (tmp_path / "a" / "notes.txt").write_text("not audio")

    assert [p.name for p in audio_files(tmp_path / "a")] == ["two.flac", "one.wav"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no audio"):
        audio_files(tmp_path / "empty")
    with pytest.raises(ConfigError, match="does not exist"):
        audio_files(tmp_path / "missing")


def test_evidence_of_an_unknown_speaker_says_it_is_read_against_the_corpus(trained_run: Path, small_demo: Path) -> None:
    decision = load_predictor(trained_run).predict_paths(_demo_clips(small_demo, 1)).decisions[0]

    assert all("corpus baseline" in cue.text_en and "kho dữ liệu" in cue.text_vi for cue in decision.evidence)
