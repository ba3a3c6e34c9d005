from __future__ import annotations

import pytest

from tests.refine.conftest import LOUDNESS, PITCH, make_rule
from vietser.errors import RulebookError
from vietser.refine.edits import (
    AddCondition,
    AddRule,
    RemoveRule,
    SetWeight,
    ThresholdMove,
    apply_edit,
    parse_edits,
)
from vietser.rules.rulebook import Condition, Rulebook


def test_threshold_move_bumps_rulebook_and_rule_versions_and_marks_it_refined(rulebook: Rulebook) -> None:
    edit = ThresholdMove(rule_id="angry-loud", condition_index=0, new_value=1.5, reason="r", source="search")
    edited = apply_edit(rulebook, edit)
    rule = edited.rules[0]
    assert rule.when[0].value == 1.5
    assert (edited.version, rule.version, rule.provenance) == (2, 2, "refined")
    assert rulebook.rules[0].when[0].value == 1.0


def test_person_edit_marks_the_rule_person(rulebook: Rulebook) -> None:
    edited = apply_edit(rulebook, SetWeight(rule_id="angry-fast", weight=0.3, reason="r", source="person"))
    rule = next(r for r in edited.rules if r.id == "angry-fast")
    assert (rule.weight, rule.provenance) == (0.3, "person")


def test_add_condition_appends_to_the_rule(rulebook: Rulebook) -> None:
    condition = Condition(feature=PITCH, op="<=", value=1.0)
    edited = apply_edit(rulebook, AddCondition(rule_id="angry-fast", condition=condition, reason="r", source="llm"))
    assert next(r for r in edited.rules if r.id == "angry-fast").when[-1] == condition


def test_add_rule_and_remove_rule(rulebook: Rulebook) -> None:
    new = make_rule("panic-high-pitch", "panic", 1.5, (PITCH, ">", 1.0))
    added = apply_edit(rulebook, AddRule(rule=new, reason="r", source="search"))
    assert [r.id for r in added.rules][-1] == "panic-high-pitch"
    assert added.rules[-1].provenance == "refined"
    removed = apply_edit(added, RemoveRule(rule_id="angry-fast", reason="r", source="search"))
    assert "angry-fast" not in [r.id for r in removed.rules] and removed.version == 3


def test_unknown_rule_id_raises(rulebook: Rulebook) -> None:
    with pytest.raises(RulebookError, match="no rule 'nope'.*known rule ids: angry-loud"):
        apply_edit(rulebook, RemoveRule(rule_id="nope", reason="r", source="llm"))


def test_condition_index_out_of_range_raises(rulebook: Rulebook) -> None:
    edit = ThresholdMove(rule_id="angry-loud", condition_index=3, new_value=0.0, reason="r", source="llm")
    with pytest.raises(RulebookError, match="condition_index 3 does not exist"):
        apply_edit(rulebook, edit)


def test_moving_a_between_bound_past_the_other_raises() -> None:
    rule = make_rule("calm-mid", "calm", 1.0, (LOUDNESS, ">", 0.0))
    rule = rule.model_copy(update={"when": [Condition(feature=LOUDNESS, op="between", low=-1.0, high=0.5)]})
    rulebook = Rulebook(name="b", version=1, rules=[rule])
    with pytest.raises(RulebookError, match="low"):
        apply_edit(rulebook, ThresholdMove(rule_id="calm-mid", condition_index=0, bound="low",
                                           new_value=0.8, reason="r", source="llm"))
    with pytest.raises(RulebookError, match="move its bound 'low' or 'high'"):
        apply_edit(rulebook, ThresholdMove(rule_id="calm-mid", condition_index=0, new_value=0.1,
                                           reason="r", source="llm"))


def test_adding_a_duplicate_rule_id_raises(rulebook: Rulebook) -> None:
    with pytest.raises(RulebookError, match="duplicate rule id"):
        apply_edit(rulebook, AddRule(rule=rulebook.rules[0], reason="r", source="person"))


def test_parse_edits_sets_the_source_and_names_bad_fields() -> None:
    [edit] = parse_edits([{"kind": "set_weight", "rule_id": "a", "weight": 2, "reason": "r", "source": "search"}],
                         "person")
    assert edit.source == "person"
    with pytest.raises(RulebookError, match="edit #1: field 'set_weight.weight'"):
        parse_edits({"edits": [{"kind": "set_weight", "rule_id": "a", "weight": -1, "reason": "r"}]}, "llm")
