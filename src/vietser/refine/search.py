"""Automatic proposals: a bounded set of candidate edits built from the error analysis.

Per round, :class:`SearchProposer` offers, interleaved so that every kind gets a
share of the budget (``max_candidates``, 60 by default):

1. new rules from the evidence patterns of the most frequent confusions:
   the pattern's conditions → supports the true class of the pair, weighted by the
   smoothed log-odds lift of that class where the pattern holds (capped at 3);
2. removal of rules whose dev precision is below ``min_precision``;
3. an added condition that keeps a rule supporting the predicted class from firing
   on the pattern of a confusion's errors (the pattern's condition, negated);
4. weight ×0.5 and ×1.5 of the rules that fire on the clips the rulebook decides;
5. threshold moves of ±0.25 and ±0.5 SD of the rules that fire on errors;
6. optionally (``induce=True``) rules from :func:`vietser.rules.induce.induce_rules`
   fitted on the dev clips.

The loop scores every candidate on the dev set; the acceptance test decides.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from itertools import chain, zip_longest

import numpy as np
import pandas as pd

from vietser.errors import ConfigError, ManifestError
from vietser.features.catalog import Z_PREFIX
from vietser.labels import CLASSES, VIETNAMESE_NAMES
from vietser.refine.analysis import ConfusionErrors, ErrorAnalysis, RuleStats
from vietser.refine.devset import DevSet
from vietser.refine.edits import (
    AddCondition,
    AddRule,
    EditSource,
    RemoveRule,
    RuleEdit,
    SetWeight,
    ThresholdMove,
    applies,
    edit_key,
)
from vietser.refine.patterns import EvidencePattern
from vietser.refine.proposals import ProposalBatch
from vietser.refine.scoring import conditions_hold, rules_decide
from vietser.rules.induce import MAX_INDUCED_WEIGHT, induce_rules
from vietser.rules.rulebook import Condition, Rationale, Rule, Rulebook

_NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}
MIN_NEW_RULE_WEIGHT = 0.1


class SearchProposer:
    """Candidate edits from the error analysis, at most ``max_candidates`` per round.

    Args:
        threshold_steps: threshold moves tried in both directions, in SD.
        weight_factors: multipliers of a rule's weight.
        min_precision: rules less precise than this on dev clips are offered for removal.
        induce: also offer rules induced from the dev clips.
    """

    source: EditSource = "search"

    def __init__(
        self,
        *,
        max_candidates: int = 60,
        threshold_steps: Sequence[float] = (0.25, 0.5),
        weight_factors: Sequence[float] = (0.5, 1.5),
        min_precision: float = 0.5,
        induce: bool = False,
    ) -> None:
        if max_candidates < 1:
            raise ConfigError(f"max_candidates must be at least 1, got {max_candidates}")
        self.max_candidates = max_candidates
        self.threshold_steps = tuple(threshold_steps)
        self.weight_factors = tuple(weight_factors)
        self.min_precision = min_precision
        self.induce = induce

    def propose(self, dev: DevSet, rulebook: Rulebook, analysis: ErrorAnalysis) -> ProposalBatch:
        """Up to ``max_candidates`` distinct, applicable edits, every kind interleaved."""
        decided = rules_decide(dev, analysis.scope)
        groups = [
            pattern_rules(dev, rulebook, analysis, decided),
            removals(analysis.rules, self.min_precision),
            narrowing_conditions(rulebook, analysis),
            weight_changes(rulebook, analysis.rules, self.weight_factors),
            threshold_moves(rulebook, analysis.rules, self.threshold_steps),
        ]
        notes: list[str] = []
        if self.induce:
            induced, note = induced_rules(dev, rulebook)
            groups.append(induced)
            notes += [note] if note else []
        edits, seen = [], set()
        for edit in _interleave(groups):
            key = edit_key(edit)
            if key in seen:
                continue
            seen.add(key)
            if not applies(rulebook, edit, notes):
                continue
            edits.append(edit)
            if len(edits) == self.max_candidates:
                break
        return ProposalBatch(source="search", edits=edits, notes=notes)


def _interleave(groups: Sequence[Sequence[RuleEdit]]) -> Iterable[RuleEdit]:
    """First of each group, then second of each, ... (so no kind can use up the budget)."""
    return (edit for edit in chain.from_iterable(zip_longest(*groups)) if edit is not None)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _new_rule_id(cls: str, conditions: Sequence[Condition], taken: set[str]) -> str:
    parts = [
        f"{_slug(c.feature.split('.', 1)[-1])}-{'high' if c.op in ('>', '>=') else 'low'}"
        for c in conditions
    ]
    base = f"refined-{cls}-" + "-".join(parts)
    rule_id, suffix = base, 2
    while rule_id in taken:
        rule_id, suffix = f"{base}-{suffix}", suffix + 1
    taken.add(rule_id)
    return rule_id


def lift_weight(fires: np.ndarray, is_class: np.ndarray) -> float:
    """Smoothed log-odds lift of a class where a rule fires over its base rate (as induction does)."""
    fired, hits = int(fires.sum()), int((fires & is_class).sum())
    p = (hits + 0.5) / (fired + 1.0)
    base = min(max(float(is_class.mean()) if len(is_class) else 0.5, 1e-6), 1 - 1e-6)
    lift = math.log(p / (1 - p)) - math.log(base / (1 - base))
    return min(round(lift, 2), MAX_INDUCED_WEIGHT)


def _pattern_rule(
    dev: DevSet,
    confusion: ConfusionErrors,
    pattern: EvidencePattern,
    decided: np.ndarray,
    taken: set[str],
) -> AddRule | None:
    cls = confusion.true_label
    fires = conditions_hold(dev, pattern.conditions)[decided]
    weight = lift_weight(fires, dev.truth[decided] == CLASSES.index(cls))
    if weight < MIN_NEW_RULE_WEIGHT:
        return None
    pair = f"{cls}→{confusion.predicted}"
    pair_vi = f"{VIETNAMESE_NAMES[cls]}→{VIETNAMESE_NAMES[confusion.predicted]}"
    vi_text = " và ".join(c.describe("vi") for c in pattern.conditions)
    rationale = Rationale(
        en=f"Found by refinement on {len(dev)} dev clips: {pattern.share_errors:.0%} of the {pair} "
        f"errors had {pattern.text}, against {pattern.share_reference:.0%} of the reference clips.",
        vi=f"Tìm thấy khi tinh chỉnh trên {len(dev)} đoạn dev: {pattern.share_errors:.0%} số lỗi "
        f"{pair_vi} có {vi_text}, so với {pattern.share_reference:.0%} ở nhóm đối chiếu.",
    )
    rule = Rule(
        id=_new_rule_id(cls, pattern.conditions, taken),
        when=list(pattern.conditions),
        supports=cls,  # type: ignore[arg-type]
        weight=weight,
        rationale=rationale,
        provenance="refined",
    )
    reason = (
        f"{pair} errors: {pattern.share_errors:.0%} have {pattern.text} "
        f"(reference {pattern.share_reference:.0%}, lift {pattern.lift:.1f})"
    )
    return AddRule(rule=rule, reason=reason, source="search")


def pattern_rules(
    dev: DevSet, rulebook: Rulebook, analysis: ErrorAnalysis, decided: np.ndarray
) -> list[RuleEdit]:
    """A new rule per evidence pattern, supporting the true class of its confusion."""
    taken = {rule.id for rule in rulebook.rules}
    edits: list[RuleEdit] = []
    used: set[str] = set()
    for confusion in analysis.confusions:
        for pattern in confusion.patterns:
            key = confusion.true_label + pattern.text
            if key in used:
                continue
            used.add(key)
            edit = _pattern_rule(dev, confusion, pattern, decided, taken)
            if edit is not None:
                edits.append(edit)
    return edits


def removals(rules: Sequence[RuleStats], min_precision: float) -> list[RuleEdit]:
    """Remove rules less precise than ``min_precision`` on dev clips, least precise first."""
    weak = [r for r in rules if r.precision is not None and r.precision < min_precision]
    weak.sort(key=lambda r: (r.precision, -r.fired_on_errors))
    return [
        RemoveRule(
            rule_id=r.rule_id,
            reason=f"precision {r.precision:.2f} on {r.fired} dev firings; "
            f"fires on {r.fired_on_errors} errors",
            source="search",
        )
        for r in weak
    ]


def narrowing_conditions(rulebook: Rulebook, analysis: ErrorAnalysis) -> list[RuleEdit]:
    """For rules supporting the wrong class of a confusion: don't fire on the errors' pattern."""
    stats = {r.rule_id: r for r in analysis.rules}
    edits: list[RuleEdit] = []
    for confusion in analysis.confusions:
        singles = [p for p in confusion.patterns if len(p.conditions) == 1]
        for rule in rulebook.rules:
            if rule.supports != confusion.predicted or stats.get(rule.id) is None:
                continue
            if stats[rule.id].fired_on_errors == 0:
                continue
            for pattern in singles:
                condition = pattern.conditions[0]
                negated = condition.model_copy(update={"op": _NEGATED[condition.op]})
                edits.append(
                    AddCondition(
                        rule_id=rule.id,
                        condition=negated,
                        reason=f"keep {rule.id} off {confusion.true_label}→{confusion.predicted} "
                        f"errors, {pattern.share_errors:.0%} of which have {pattern.text}",
                        source="search",
                    )
                )
    return edits


def _active(rules: Sequence[RuleStats]) -> list[RuleStats]:
    """Rules that fire on decided clips, most firings on errors first."""
    acting = [r for r in rules if r.fired_on_errors + r.fired_on_correct > 0]
    return sorted(acting, key=lambda r: (-r.fired_on_errors, -r.fired_on_correct, r.rule_id))


def weight_changes(
    rulebook: Rulebook, rules: Sequence[RuleStats], factors: Sequence[float]
) -> list[RuleEdit]:
    """Scale the weight of every rule that fires on decided clips."""
    weights = {rule.id: rule.weight for rule in rulebook.rules}
    return [
        SetWeight(
            rule_id=r.rule_id,
            weight=max(round(weights[r.rule_id] * factor, 2), 0.05),
            reason=f"weight ×{factor:g}: fires on {r.fired_on_errors} errors and "
            f"{r.fired_on_correct} correct decisions",
            source="search",
        )
        for r in _active(rules)
        for factor in factors
        if r.rule_id in weights
    ]


def threshold_moves(
    rulebook: Rulebook, rules: Sequence[RuleStats], steps: Sequence[float]
) -> list[RuleEdit]:
    """Move each threshold of the rules that fire on errors by ±each step (z scale only)."""
    by_id = {rule.id: rule for rule in rulebook.rules}
    edits: list[RuleEdit] = []
    for stats in (r for r in _active(rules) if r.fired_on_errors > 0):
        rule = by_id.get(stats.rule_id)
        for index, condition in enumerate(rule.when if rule else []):
            if condition.scale != "z" or condition.on_transcript:
                continue
            bounds = ("low", "high") if condition.op == "between" else ("value",)
            for bound in bounds:
                current = float(getattr(condition, bound))
                for delta in (s * sign for s in steps for sign in (1, -1)):
                    edits.append(
                        ThresholdMove(
                            rule_id=stats.rule_id,
                            condition_index=index,
                            bound=bound,  # type: ignore[arg-type]
                            new_value=round(current + delta, 2),
                            reason=f"{condition.describe()}: move by {delta:+g} SD "
                            f"(fires on {stats.fired_on_errors} errors)",
                            source="search",
                        )
                    )
    return edits


def induced_rules(dev: DevSet, rulebook: Rulebook) -> tuple[list[RuleEdit], str | None]:
    """Rules induced from the dev clips' z-scores (and transcripts) whose ids are not in the rulebook yet."""
    frame = pd.DataFrame(dev.z_matrix(), columns=[Z_PREFIX + f for f in dev.z_features])
    frame["label"] = list(dev.labels)
    if dev.transcripts is not None:
        frame["transcript"] = list(dev.transcripts)
    try:
        induced = induce_rules(frame).rulebook
    except ManifestError as exc:
        return [], f"no induced rules: {exc}"
    taken = {rule.id for rule in rulebook.rules}
    return [
        AddRule(rule=rule, reason=f"induced from the dev clips: {rule.rationale.en}", source="search")
        for rule in induced.rules
        if rule.id not in taken
    ], None
