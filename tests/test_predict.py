"""Classify new audio files with a trained run."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import ToneWriter
from vietser.data.manifest import load_manifest
from vietser.errors import AudioError, ConfigError
from vietser.run.predict import list_audio, load_predictor, speaker_of


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


def test_list_audio_lists_folder_audio_only(tmp_path: Path, write_tone: ToneWriter) -> None:
    write_tone("a/one.wav")
    write_tone("a/b/two.flac")
    (tmp_path / "a" / "notes.txt").write_text("not audio")

    listing = list_audio(tmp_path / "a")

    assert [p.name for p in listing.files] == ["two.flac", "one.wav"]
    assert listing.skipped == []
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no audio"):
        list_audio(tmp_path / "empty")
    with pytest.raises(ConfigError, match="does not exist"):
        list_audio(tmp_path / "missing")


def test_list_audio_names_every_entry_it_cannot_read_as_a_file(tmp_path: Path, write_tone: ToneWriter) -> None:
    folder = tmp_path / "batch"
    good = write_tone("batch/good.wav")
    (folder / "link-to-good.wav").symlink_to(good)
    (folder / "dangling.wav").symlink_to(folder / "gone.wav")
    (folder / "loop.wav").symlink_to(folder / "loop.wav")
    (folder / "folder.wav").mkdir()
    (folder / "up").symlink_to(folder, target_is_directory=True)
    os.mkfifo(folder / "pipe.wav")

    listing = list_audio(folder)

    assert listing.files == [folder / "good.wav", folder / "link-to-good.wav"]
    reasons = {Path(clip.path).name: clip.reason for clip in listing.skipped}
    assert reasons == {
        "dangling.wav": f"broken symbolic link (its target {folder / 'gone.wav'} does not exist)",
        "folder.wav": "a folder, not an audio file",
        "loop.wav": "symbolic link loop",
        "pipe.wav": "not a regular file (a pipe, socket or device)",
        "up": "symbolic link to a folder, not followed; give its target to predict",
    }
    assert all(Path(clip.path).is_absolute() for clip in listing.skipped)


def test_a_single_unreadable_target_is_skipped_not_raised(tmp_path: Path) -> None:
    (tmp_path / "loop.wav").symlink_to(tmp_path / "loop.wav")

    listing = list_audio(tmp_path / "loop.wav")

    assert listing.files == [] and [clip.reason for clip in listing.skipped] == ["symbolic link loop"]


def test_predict_target_lists_walk_and_audio_skips_together(
    trained_run: Path, small_demo: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "clip.wav").symlink_to(_demo_clips(small_demo, 1)[0])
    (folder / "noise.wav").write_bytes(np.random.default_rng(0).bytes(4000))
    (folder / "dangling.wav").symlink_to(folder / "gone.wav")

    result = load_predictor(trained_run).predict_target(folder)

    assert len(result.decisions) == 1
    assert [Path(clip.path).name for clip in result.skipped] == ["dangling.wav", "noise.wav"]


def test_speakers_from_folders_are_nfc(tmp_path: Path) -> None:
    decomposed = tmp_path / unicodedata.normalize("NFD", "Hùng") / "a.wav"
    assert speaker_of(decomposed, "folder") == unicodedata.normalize("NFC", "Hùng")
    assert speaker_of(decomposed, "file") == ""


def test_evidence_of_an_unknown_speaker_says_it_is_read_against_the_corpus(trained_run: Path, small_demo: Path) -> None:
    decision = load_predictor(trained_run).predict_paths(_demo_clips(small_demo, 1)).decisions[0]

    assert all("corpus baseline" in cue.text_en and "kho dữ liệu" in cue.text_vi for cue in decision.evidence)
