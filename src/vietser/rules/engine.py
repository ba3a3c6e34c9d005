"""Deterministic rule engine: fires rulebook rules on a clip's evidence and combines them
with the acoustic model's probabilities.

Scoring, per class ``c``::

    score(c) = prior_weight * log(max(p_acoustic(c), 1e-6))
               + sum(weight of the fired rules supporting c)
    P(c)     = softmax(score)(c)

A rule's weight is therefore a log-odds bonus: weight 1.0 multiplies the odds of
its class against every other class by e (about 2.7). ``priority`` does not change
scores; it orders fired rules (highest first) in ``rules_used`` and the rationale,
and breaks exact score ties in favour of the class backed by the highest-priority rule.

Example::

    engine = RuleEngine(default_rulebook())
    [result] = engine.reason([ReasoningRequest(evidence=evidence, probabilities=probs)])
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vietser.decision import ClipEvidence, ReasonerName
from vietser.errors import ConfigError
from vietser.labels import CLASSES, VIETNAMESE_NAMES
from vietser.reasoning import ReasoningRequest, ReasoningResult
from vietser.rules.rulebook import Condition, Language, Rule, Rulebook

PROBABILITY_FLOOR = 1e-6


@dataclass(frozen=True)
class RuleFiring:
    """A rule whose conditions all held on one clip, with the values that satisfied them."""

    rule: Rule
    observed: Mapping[str, float]

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def supports(self) -> str:
        return self.rule.supports


@dataclass(frozen=True)
class RuleVerdict:
    """The engine's full answer for one clip: the ReasoningResult plus what produced it."""

    result: ReasoningResult
    probabilities: dict[str, float]
    prior: dict[str, float]
    firings: list[RuleFiring]


def observed_value(condition: Condition, evidence: ClipEvidence) -> float | None:
    """The value a condition compares: the z-score (or raw value) of its feature, None if absent."""
    if condition.scale == "raw":
        value = evidence.values.get(condition.feature)
    else:
        value = evidence.z.get(condition.feature, evidence.z.get(f"z.{condition.feature}"))
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _fire(rule: Rule, evidence: ClipEvidence) -> RuleFiring | None:
    observed: dict[str, float] = {}
    for condition in rule.when:
        value = observed_value(condition, evidence)
        if value is None or not condition.holds(value):
            return None
        observed[condition.feature] = value
    return RuleFiring(rule=rule, observed=observed)


def evaluate_rules(rulebook: Rulebook, evidence: ClipEvidence) -> list[RuleFiring]:
    """Every enabled rule that fires on this clip, highest priority first, then rulebook order.

    A condition on a missing or non-finite feature does not hold, so its rule does not fire.
    """
    firings = [_fire(rule, evidence) for rule in rulebook.rules if rule.enabled]
    fired = [firing for firing in firings if firing is not None]
    return sorted(fired, key=lambda firing: -firing.rule.priority)


def _prior_problem(probabilities: Mapping[str, float]) -> str | None:
    missing = [c for c in CLASSES if c not in probabilities]
    if missing:
        return f"missing classes {missing}"
    invalid = [
        c for c in CLASSES if not (math.isfinite(probabilities[c]) and probabilities[c] >= 0)
    ]
    if invalid:
        return f"not a probability for {invalid}"
    if sum(probabilities[c] for c in CLASSES) <= 0:
        return "all probabilities are zero"
    return None


def acoustic_prior(probabilities: Mapping[str, float]) -> tuple[dict[str, float], str | None]:
    """Acoustic probabilities normalised over CLASSES, or a uniform prior and the reason why."""
    problem = _prior_problem(probabilities)
    if problem is not None:
        uniform = 1.0 / len(CLASSES)
        return {c: uniform for c in CLASSES}, f"acoustic probabilities unusable ({problem})"
    total = sum(probabilities[c] for c in CLASSES)
    return {c: float(probabilities[c]) / total for c in CLASSES}, None


def combine_scores(
    prior: Mapping[str, float], firings: Sequence[RuleFiring], prior_weight: float
) -> dict[str, float]:
    """Softmax of prior_weight * log(prior) plus the weights of the fired rules, per class."""
    scores = {c: prior_weight * math.log(max(prior[c], PROBABILITY_FLOOR)) for c in CLASSES}
    for firing in firings:
        scores[firing.supports] += firing.rule.weight
    top = max(scores.values())
    exponentials = {c: math.exp(s - top) for c, s in scores.items()}
    total = sum(exponentials.values())
    return {c: e / total for c, e in exponentials.items()}


def _choose(probabilities: Mapping[str, float], firings: Sequence[RuleFiring]) -> str:
    """Most probable class; ties (to 1e-9) go to the class backed by the highest-priority
    fired rule, then to CLASSES order."""

    def key(cls: str) -> tuple[float, float, int]:
        priorities = [float(f.rule.priority) for f in firings if f.supports == cls]
        return (
            round(probabilities[cls], 9),
            max(priorities, default=-math.inf),
            -CLASSES.index(cls),
        )

    return max(CLASSES, key=key)


def _class_name(cls: str, language: Language) -> str:
    return VIETNAMESE_NAMES[cls] if language == "vi" else cls


def explain(
    prior: Mapping[str, float],
    firings: Sequence[RuleFiring],
    label: str,
    confidence: float,
    prior_weight: float,
    language: Language = "en",
) -> str:
    """Rationale text: the acoustic prior, every fired rule with its rationale, the result."""
    prior_text = ", ".join(f"{_class_name(c, language)} {prior[c]:.2f}" for c in CLASSES)
    if language == "vi":
        parts = [f"Mô hình âm học: {prior_text} (trọng số {prior_weight:g})."]
        heading, none_fired, result = (
            "Luật đã kích hoạt",
            "Không có luật nào kích hoạt.",
            "Kết luận",
        )
    else:
        parts = [f"Acoustic model: {prior_text} (prior weight {prior_weight:g})."]
        heading, none_fired, result = "Rules fired", "No rule fired.", "Result"
    if firings:
        lines = [
            f"{f.rule_id} → {_class_name(f.supports, language)} (+{f.rule.weight:g}): "
            f"{getattr(f.rule.rationale, language)}"
            for f in firings
        ]
        parts.append(f"{heading}: " + " ".join(f"[{line}]" for line in lines))
    else:
        parts.append(none_fired)
    parts.append(f"{result}: {_class_name(label, language)} {confidence:.2f}.")
    return " ".join(parts)


OUT_OF_DOMAIN: dict[Language, str] = {
    "en": "Out of the training domain: no rule applies (flagged for review).",
    "vi": "Ngoài miền dữ liệu huấn luyện: không áp dụng luật nào (cần người nghe lại).",
}


class RuleEngine:
    """A Reasoner that decides clips with a rulebook on top of the acoustic probabilities.

    Args:
        rulebook: the rules to apply (disabled rules are skipped).
        prior_weight: how much the acoustic probabilities count (0 = rules only).
        language: language of the rationale text, "en" or "vi".
    """

    name: ReasonerName = "rules"

    def __init__(
        self, rulebook: Rulebook, prior_weight: float = 1.0, language: Language = "en"
    ) -> None:
        if not (math.isfinite(prior_weight) and prior_weight >= 0):
            raise ConfigError(f"prior_weight must be a finite number >= 0, got {prior_weight}")
        self.rulebook = rulebook
        self.prior_weight = prior_weight
        self.language = language

    def verdict(self, request: ReasoningRequest) -> RuleVerdict:
        """Decide one clip and keep the intermediate results (prior, fired rules, probabilities)."""
        prior, problem = acoustic_prior(request.probabilities)
        # Rules were fitted on the training clips; far outside them their thresholds mean nothing.
        firings = [] if request.out_of_domain else evaluate_rules(self.rulebook, request.evidence)
        probabilities = combine_scores(prior, firings, self.prior_weight)
        label = _choose(probabilities, firings)
        confidence = probabilities[label]
        rationale = explain(prior, firings, label, confidence, self.prior_weight, self.language)
        if request.out_of_domain:
            rationale = f"{OUT_OF_DOMAIN[self.language]} {rationale}"
        if problem:
            rationale = f"{problem}; uniform prior used instead. {rationale}"
        result = ReasoningResult(
            label=label,
            confidence=min(max(confidence, 0.0), 1.0),
            rules_used=[f.rule_id for f in firings if f.supports == label],
            rationale=rationale,
            reasoner=self.name,
            fallback=problem is not None,
            fallback_reason=f"{problem}; decided from rules alone" if problem else None,
        )
        return RuleVerdict(result=result, probabilities=probabilities, prior=prior, firings=firings)

    def reason(self, requests: Sequence[ReasoningRequest]) -> list[ReasoningResult]:
        """Answer every request, in order."""
        return [self.verdict(request).result for request in requests]
