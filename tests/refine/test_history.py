from __future__ import annotations

import json
from pathlib import Path

import pytest

from vietser.errors import ConfigError
from vietser.refine.edits import SetWeight, apply_edit
from vietser.refine.history import RulebookHistory
from vietser.rules.rulebook import Rulebook, dump_rulebook, load_rulebook


def _edited(rulebook: Rulebook, weight: float) -> tuple[Rulebook, SetWeight]:
    edit = SetWeight(rule_id="angry-fast", weight=weight, reason="too eager", source="person")
    return apply_edit(rulebook, edit), edit


def test_versions_are_files_that_round_trip_exactly(tmp_path: Path, rulebook: Rulebook) -> None:
    history = RulebookHistory(tmp_path / "h")
    history.record(rulebook, note="start")
    edited, edit = _edited(rulebook, 0.3)
    history.record(edited, edits=[edit], dev_before=0.8, dev_after=0.85)
    assert history.versions() == [1, 2]
    assert history.get(1) == rulebook and history.current() == edited
    assert load_rulebook(tmp_path / "h" / "rulebooks" / "v0002.yaml") == edited
    assert (tmp_path / "h" / "rulebooks" / "v0002.yaml").read_text(encoding="utf-8") == dump_rulebook(edited)


def test_changelog_says_what_changed_why_and_who(tmp_path: Path, rulebook: Rulebook) -> None:
    history = RulebookHistory(tmp_path)
    history.record(rulebook)
    edited, edit = _edited(rulebook, 0.3)
    history.record(edited, edits=[edit], dev_before=0.8, dev_after=0.85)
    line = json.loads((tmp_path / "rulebooks" / "changelog.jsonl").read_text(encoding="utf-8").splitlines()[1])
    assert (line["version"], line["parent"], line["dev_before"], line["dev_after"]) == (2, 1, 0.8, 0.85)
    assert line["edits"][0]["reason"] == "too eager" and line["edits"][0]["source"] == "person"
    assert line["changes"] == ["angry-fast: weight → 0.3"] and line["timestamp"]


def test_rollback_restores_an_old_version_as_a_new_one(tmp_path: Path, rulebook: Rulebook) -> None:
    history = RulebookHistory(tmp_path)
    history.record(rulebook)
    for weight in (0.3, 0.2):
        history.record(_edited(history.current(), weight)[0])
    restored = history.rollback(1)
    assert history.versions() == [1, 2, 3, 4]
    assert restored.version == 4 and history.current() == restored
    # Same content as v1; only the version field says where it sits in the history.
    assert dump_rulebook(restored).replace("version: 4\n", "version: 1\n", 1) == dump_rulebook(history.get(1))
    assert history.entries()[-1].note == "rollback to v1" and history.entries()[-1].rollback_of == 1
    assert history.get(3).rules[2].weight == 0.2


def test_later_versions_are_numbered_after_the_current_one(tmp_path: Path, rulebook: Rulebook) -> None:
    history = RulebookHistory(tmp_path)
    history.record(rulebook.model_copy(update={"version": 7}))
    assert history.record(rulebook).version == 8


def test_unknown_version_and_empty_history_raise(tmp_path: Path, rulebook: Rulebook) -> None:
    history = RulebookHistory(tmp_path)
    with pytest.raises(ConfigError, match="empty"):
        history.current()
    history.record(rulebook)
    with pytest.raises(ConfigError, match="no version 5; versions: \\[1\\]"):
        history.get(5)


def test_a_file_outside_the_changelog_is_never_overwritten(tmp_path: Path, rulebook: Rulebook) -> None:
    history = RulebookHistory(tmp_path)
    history.record(rulebook)
    stray = history.path(2)
    stray.write_text("hand-written\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="nothing in a history is overwritten"):
        history.record(rulebook)
    assert stray.read_text(encoding="utf-8") == "hand-written\n"
