from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.refine.conftest import PITCH, make_frame, make_rule, routes_of
from vietser.refine.acceptance import AcceptanceConfig
from vietser.refine.devset import DevSet
from vietser.refine.edits import AddRule, SetWeight
from vietser.refine.history import RulebookHistory
from vietser.refine.loop import RefineConfig, RefinementResult, refine
from vietser.refine.person import PersonProposer
from vietser.rules.rulebook import Rulebook


def _uses_pitch_for_panic(edit) -> bool:
    if isinstance(edit, AddRule):
        return edit.rule.supports == "panic" and any(c.feature == PITCH for c in edit.rule.when)
    return False


def test_refinement_recovers_the_planted_panic_pitch_rule(dev: DevSet, rulebook: Rulebook) -> None:
    result = refine(dev, rulebook, rounds=3)
    accepted = [a.edit for r in result.rounds for a in r.accepted]
    assert any(_uses_pitch_for_panic(edit) for edit in accepted)
    assert result.final_dev > result.initial_dev + 0.05
    assert result.rounds[0].dev_after > result.rounds[0].dev_before


def test_an_edit_that_lowers_the_score_is_rejected(dev: DevSet, rulebook: Rulebook) -> None:
    harmful = AddRule(rule=make_rule("calm-high-pitch", "calm", 3.0, (PITCH, ">", 1.0)), reason="r", source="person")
    result = refine(dev, rulebook, rounds=2, proposers=[PersonProposer([harmful])])
    [round_one] = result.rounds
    assert round_one.accepted == []
    assert "does not improve" in round_one.rejected[0].reason and round_one.rejected[0].delta < 0
    assert result.final_rulebook == rulebook
    assert result.stopped == "no edit passed the acceptance test in round 1"


def test_an_edit_that_changes_nothing_is_rejected(dev: DevSet, rulebook: Rulebook) -> None:
    same = SetWeight(rule_id="calm-low-arousal", weight=1.0, reason="no-op", source="person")
    [round_one] = refine(dev, rulebook, rounds=1, proposers=[PersonProposer([same])]).rounds
    assert round_one.accepted == [] and round_one.rejected[0].reason == "changes no dev prediction"


def test_test_rows_cannot_change_refinement(rulebook: Rulebook) -> None:
    dev_frame, dev_p, dev_e = make_frame(300, seed=5, split="dev")
    test_frame, test_p, test_e = make_frame(100, seed=6, split="test")
    frame = pd.concat([dev_frame, test_frame], ignore_index=True)
    probabilities, evidence = np.vstack([dev_p, test_p]), dev_e + test_e

    def run(frame: pd.DataFrame) -> RefinementResult:
        rows = np.flatnonzero(frame["split"] == "dev")
        dev = DevSet.from_frame(frame.iloc[rows], probabilities[rows], [evidence[i] for i in rows],
                                routes_of(probabilities[rows]))
        return refine(dev, rulebook, rounds=2)

    clean = run(frame)
    frame.loc[frame.split == "test", "label"] = "calm"
    for i in np.flatnonzero(frame["split"] == "test"):
        evidence[i] = evidence[i].model_copy(update={"z": {PITCH: -5.0}})
    assert run(frame).model_dump() == clean.model_dump()


def test_every_accepted_edit_is_a_version_in_the_history(tmp_path: Path, dev: DevSet, rulebook: Rulebook) -> None:
    history = RulebookHistory(tmp_path)
    result = refine(dev, rulebook, rounds=3, history=history)
    accepted = [a for r in result.rounds for a in r.accepted]
    assert history.versions() == [1, *(a.version for a in accepted)]
    assert history.current() == result.final_rulebook
    assert [e.edits[0] for e in history.entries()[1:]] == [a.edit for a in accepted]


def test_resuming_from_the_current_version_records_no_duplicate(
    tmp_path: Path, dev: DevSet, rulebook: Rulebook
) -> None:
    history = RulebookHistory(tmp_path)
    first = refine(dev, rulebook, rounds=1, history=history)
    refine(dev, first.final_rulebook, rounds=0, history=history)
    assert history.versions() == [1, 2]


def test_several_edits_per_round_each_beat_the_one_before(dev: DevSet, rulebook: Rulebook) -> None:
    config = RefineConfig(edits_per_round=2, acceptance=AcceptanceConfig(correction="none"))
    [round_one] = refine(dev, rulebook, rounds=1, config=config).rounds
    assert len(round_one.accepted) == 2
    assert round_one.accepted[1].version == round_one.accepted[0].version + 1
    assert round_one.dev_after - round_one.dev_before == pytest.approx(sum(a.delta for a in round_one.accepted))


def test_result_is_json_serialisable(dev: DevSet, rulebook: Rulebook) -> None:
    result = refine(dev, rulebook, rounds=1)
    assert RefinementResult.model_validate_json(result.model_dump_json()) == result
