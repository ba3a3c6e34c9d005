"""Reading a run directory for review."""

from __future__ import annotations

from pathlib import Path

import pytest

from vietser.errors import ConfigError, ManifestError, RulebookError
from vietser.review.rundir import load_run, read_rulebook


def test_run_without_decisions_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="decisions.jsonl not found"):
        load_run(tmp_path)


def test_a_line_that_is_not_a_decision_is_named(review_run: Path) -> None:
    with (review_run / "decisions.jsonl").open("a") as out:
        out.write('{"clip_id": "x"}\n')
    with pytest.raises(ConfigError, match="line 5: not a Decision"):
        load_run(review_run)


def test_manifest_without_path_column_is_a_manifest_error(review_run: Path) -> None:
    (review_run / "manifest.csv").write_text("file,label\na.wav,calm\n")
    with pytest.raises(ManifestError, match="no 'path' column"):
        load_run(review_run)


def test_manifest_rows_match_decisions_by_resolved_path_when_written_differently(review_run: Path) -> None:
    (review_run / "manifest.csv").write_text(f"path,label,transcript\n{review_run / 'clips/b.wav'},angry,xin chào\n")
    run = load_run(review_run)
    assert run.manifest_clip_ids == ["clips/b.wav"]
    assert run.transcripts == {"clips/b.wav": "xin chào"}


def test_only_audio_files_are_servable(review_run: Path) -> None:
    lines = (review_run / "decisions.jsonl").read_text().splitlines()
    (review_run / "decisions.jsonl").write_text(
        "\n".join([lines[0].replace("clips/a.wav", "decisions.jsonl")] + lines[1:])
    )
    run = load_run(review_run)
    assert "decisions.jsonl" not in run.audio_paths
    assert run.audio_paths["clips/b.wav"] == review_run / "clips/b.wav"


def test_invalid_rulebook_is_a_rulebook_error(tmp_path: Path) -> None:
    (tmp_path / "rulebook.yaml").write_text("name: x\nversion: 1\nrules:\n  - just text\n")
    with pytest.raises(RulebookError, match="rule #1"):
        read_rulebook(tmp_path / "rulebook.yaml")


def test_missing_rulebook_reads_as_none(tmp_path: Path) -> None:
    assert read_rulebook(tmp_path / "rulebook.yaml") is None
