"""The refinement section of the evaluation report: scores per round, and what changed in the rulebook."""

from __future__ import annotations

from collections.abc import Mapping

from vietser.evaluate.sections import ReportSection
from vietser.refine.edits import describe_edit
from vietser.refine.loop import RefinementResult
from vietser.rules.rulebook import Rule, Rulebook

COLUMNS = [
    "round", "rulebook version", "dev macro-F1", "Δ dev", "test macro-F1",
    "kept edits", "candidates", "rejected", "delegated",
]


def _comparable(rule: Rule) -> Rule:
    return rule.model_copy(update={"version": 1, "provenance": "guideline"})


def rule_changes(before: Rulebook, after: Rulebook) -> tuple[list[Rule], list[Rule], list[Rule]]:
    """Rules added, changed (their new form) and dropped between two rulebooks."""
    old = {rule.id: rule for rule in before.rules}
    new = {rule.id: rule for rule in after.rules}
    added = [rule for rule_id, rule in new.items() if rule_id not in old]
    dropped = [rule for rule_id, rule in old.items() if rule_id not in new]
    changed = [
        rule for rule_id, rule in new.items()
        if rule_id in old and _comparable(rule) != _comparable(old[rule_id])
    ]
    return added, changed, dropped


def _listing(title: str, rules: list[Rule]) -> str:
    if not rules:
        return f"{title}: none."
    return f"{title}: " + "; ".join(f"`{rule.id}` ({rule.describe()})" for rule in rules) + "."


def refinement_section(
    result: RefinementResult, test_scores: Mapping[int, float] | None = None
) -> ReportSection:
    """Dev macro-F1 per round (and test macro-F1 where given), and the rules added, changed, dropped.

    Args:
        test_scores: test macro-F1 by rulebook version, e.g. of the starting and the final
            rulebook, scored once after refinement; versions not in it show a dash.
    """
    test_scores = test_scores or {}
    start = result.initial_rulebook.version
    rows: list[list[object]] = [
        ["start", start, result.initial_dev, None, test_scores.get(start), "—", None, None, None]
    ]
    for r in result.rounds:
        kept = "; ".join(f"{describe_edit(a.edit)} [{a.edit.source}]" for a in r.accepted) or "—"
        rows.append([
            r.round, r.version_after, r.dev_after, r.dev_after - r.dev_before,
            test_scores.get(r.version_after), kept, r.candidates_tried, len(r.rejected),
            f"{100 * r.delegation_rate:.1f}%",
        ])
    added, changed, dropped = rule_changes(result.initial_rulebook, result.final_rulebook)
    text = "\n\n".join([
        f"Rulebook `{result.final_rulebook.name}` refined on the dev split from version {start} "
        f"to {result.final_rulebook.version}: dev macro-F1 {result.initial_dev:.3f} → "
        f"{result.final_dev:.3f} ({result.stopped}). An edit is kept only if it beats the dev "
        "noise; picking the best of many candidates still makes the dev gain optimistic, so "
        "judge the rulebooks by their test scores.",
        _listing("Rules added", added),
        _listing("Rules changed", changed),
        _listing("Rules dropped", dropped),
    ])
    return ReportSection(title="Rulebook refinement", text=text, columns=COLUMNS, rows=rows)
