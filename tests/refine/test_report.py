from __future__ import annotations

from tests.refine.conftest import PITCH, make_rule
from vietser.refine.devset import DevSet
from vietser.refine.edits import AddRule, RemoveRule, SetWeight, apply_edits
from vietser.refine.loop import refine
from vietser.refine.person import PersonProposer
from vietser.refine.report import refinement_section, rule_changes
from vietser.rules.rulebook import Rulebook


def test_section_has_a_row_per_round_and_test_scores_where_given(dev: DevSet, rulebook: Rulebook) -> None:
    result = refine(dev, rulebook, rounds=3)
    final = result.final_rulebook.version
    section = refinement_section(result, {1: 0.61, final: 0.7})
    assert [row[0] for row in section.rows] == ["start", *(str(r.round) for r in result.rounds)]
    assert section.rows[0][section.columns.index("test macro-F1")] == "0.610"
    last_kept = [row for row in section.rows if row[1] == str(final)][0]
    assert last_kept[section.columns.index("test macro-F1")] == "0.700"
    assert section.rows[1][section.columns.index("dev macro-F1")] == f"{result.rounds[0].dev_after:.3f}"
    assert "Rules added: `refined-panic" in section.text


def test_rule_changes_lists_added_changed_and_dropped(rulebook: Rulebook) -> None:
    new = make_rule("panic-high-pitch", "panic", 1.5, (PITCH, ">", 1.0))
    after = apply_edits(rulebook, [
        AddRule(rule=new, reason="r", source="person"),
        SetWeight(rule_id="angry-loud", weight=0.4, reason="r", source="search"),
        RemoveRule(rule_id="angry-fast", reason="r", source="search"),
    ])
    added, changed, dropped = rule_changes(rulebook, after)
    assert ([r.id for r in added], [r.id for r in changed], [r.id for r in dropped]) == (
        ["panic-high-pitch"], ["angry-loud"], ["angry-fast"]
    )


def test_section_without_kept_edits_says_so(dev: DevSet, rulebook: Rulebook) -> None:
    noop = SetWeight(rule_id="angry-loud", weight=0.8, reason="r", source="person")
    section = refinement_section(refine(dev, rulebook, rounds=1, proposers=[PersonProposer([noop])]))
    assert "Rules added: none." in section.text and "no edit passed" in section.text
    assert section.rows[1][section.columns.index("kept edits")] == "—"
