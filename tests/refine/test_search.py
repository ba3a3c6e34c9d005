from __future__ import annotations

from tests.refine.conftest import PITCH
from vietser.refine.analysis import analyse_errors
from vietser.refine.devset import DevSet
from vietser.refine.edits import AddRule, RemoveRule, SetWeight, ThresholdMove, apply_edit
from vietser.refine.search import SearchProposer
from vietser.rules.rulebook import Rulebook


def _propose(dev: DevSet, rulebook: Rulebook, **settings) -> list:
    return SearchProposer(**settings).propose(dev, rulebook, analyse_errors(dev, rulebook)).edits


def test_candidates_are_bounded_distinct_and_applicable(dev: DevSet, rulebook: Rulebook) -> None:
    edits = _propose(dev, rulebook, max_candidates=12)
    assert len(edits) == 12
    assert len({e.model_dump_json() for e in edits}) == 12
    for edit in edits:
        apply_edit(rulebook, edit)


def test_every_kind_gets_a_share_of_a_small_budget(dev: DevSet, rulebook: Rulebook) -> None:
    kinds = {type(e) for e in _propose(dev, rulebook, max_candidates=8)}
    assert {AddRule, RemoveRule, SetWeight, ThresholdMove} <= kinds


def test_a_new_panic_rule_on_pitch_is_proposed(dev: DevSet, rulebook: Rulebook) -> None:
    added = [e.rule for e in _propose(dev, rulebook) if isinstance(e, AddRule)]
    pitch_rules = [r for r in added if r.supports == "panic" and r.when[0].feature == PITCH]
    assert pitch_rules and pitch_rules[0].weight > 1.0
    assert pitch_rules[0].rationale.vi


def test_the_low_precision_rule_is_offered_for_removal(dev: DevSet, rulebook: Rulebook) -> None:
    removed = {e.rule_id for e in _propose(dev, rulebook) if isinstance(e, RemoveRule)}
    assert "angry-fast" in removed and "calm-low-arousal" not in removed


def test_induced_rules_are_offered_when_asked(dev: DevSet, rulebook: Rulebook) -> None:
    edits = _propose(dev, rulebook, induce=True, max_candidates=200)
    assert any(isinstance(e, AddRule) and e.rule.id.startswith("induced-") for e in edits)
