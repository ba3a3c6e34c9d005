"""Deterministic rule engine: fires rulebook rules on a clip's evidence and combines them
with the acoustic model's probabilities.

Scoring (:mod:`vietser.rules.core`, which decides a batch of requests at once), per class ``c``::

    score(c) = prior_weight * log(max(p_acoustic(c), 1e-6))
               + sum(weight of the fired rules supporting c)
    P(c)     = softmax(score)(c)

A rule's weight is therefore a log-odds bonus: weight 1.0 multiplies the odds of
its class against every other class by e (about 2.7). ``priority`` does not change
scores; it orders fired rules (highest first) in ``rules_used`` and the rationale,
and breaks ties (probabilities equal to 9 decimals) in favour of the class backed by the
highest-priority rule.
A clip outside the training domain fires no rule.

Example::

    engine = RuleEngine(default_rulebook())
    [result] = engine.reason([ReasoningRequest(evidence=evidence, probabilities=probs)])
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vietser.decision import ClipEvidence, ReasonerName
from vietser.labels import CLASSES, VIETNAMESE_NAMES
from vietser.numerals import number
from vietser.reasoning import ReasoningRequest, ReasoningResult
from vietser.rules.core import (
    FeatureColumns,
    check_prior_weight,
    firing_matrix,
    frame_column,
    priority_order,
    score_clips,
)
from vietser.rules.rulebook import Language, Rule, Rulebook


@dataclass(frozen=True)
class RuleFiring:
    """A rule whose conditions all held on one clip, with the feature values that satisfied them
    (a transcript condition has no value)."""

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


def _firings(
    features: FeatureColumns, rules: Sequence[Rule], fires: np.ndarray, row: int
) -> list[RuleFiring]:
    """The rules that fired on one clip, highest priority first, then rulebook order."""
    columns = features.columns
    return [
        RuleFiring(
            rule=rules[j],
            observed={
                c.feature: float(columns[frame_column(c)][row]) for c in rules[j].when if not c.on_transcript
            },
        )
        for j in priority_order(rules)
        if fires[row, j]
    ]


def evaluate_rules(
    rulebook: Rulebook, evidence: ClipEvidence, transcript: str | None = None
) -> list[RuleFiring]:
    """Every enabled rule that fires on this clip, highest priority first, then rulebook order.

    A condition on a missing or non-finite feature does not hold, so its rule does not fire;
    nor does a transcript condition on a clip without a transcript.
    """
    rules = [rule for rule in rulebook.rules if rule.enabled]
    features = FeatureColumns.from_evidence([evidence], [c for rule in rules for c in rule.when], [transcript])
    return _firings(features, rules, firing_matrix(features, rules), 0)


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
    prior_text = ", ".join(f"{_class_name(c, language)} {number(prior[c], '.2f', language)}" for c in CLASSES)
    weight = number(prior_weight, "g", language)
    if language == "vi":
        parts = [f"Mô hình âm học: {prior_text} (trọng số {weight})."]
        heading, none_fired, result = (
            "Luật đã kích hoạt",
            "Không có luật nào kích hoạt.",
            "Kết luận",
        )
    else:
        parts = [f"Acoustic model: {prior_text} (prior weight {weight})."]
        heading, none_fired, result = "Rules fired", "No rule fired.", "Result"
    if firings:
        lines = [
            f"{f.rule_id} → {_class_name(f.supports, language)} (+{number(f.rule.weight, 'g', language)}): "
            f"{getattr(f.rule.rationale, language)}"
            for f in firings
        ]
        parts.append(f"{heading}: " + " ".join(f"[{line}]" for line in lines))
    else:
        parts.append(none_fired)
    parts.append(f"{result}: {_class_name(label, language)} {number(confidence, '.2f', language)}.")
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
        check_prior_weight(prior_weight)
        self.rulebook = rulebook
        self.prior_weight = prior_weight
        self.language = language

    def close(self) -> None:
        """Nothing to release (part of the Reasoner interface)."""

    def __enter__(self) -> RuleEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def verdict(self, request: ReasoningRequest) -> RuleVerdict:
        """Decide one clip and keep the intermediate results (prior, fired rules, probabilities)."""
        [verdict] = self.verdicts([request])
        return verdict

    def verdicts(self, requests: Sequence[ReasoningRequest]) -> list[RuleVerdict]:
        """Decide every request at once (one feature-frame row each), in order."""
        rules = [rule for rule in self.rulebook.rules if rule.enabled]
        conditions = [c for rule in rules for c in rule.when]
        features = FeatureColumns.from_evidence(
            [request.evidence for request in requests], conditions, [request.transcript for request in requests]
        )
        # Rules were fitted on the training clips; far outside them their thresholds mean nothing.
        fires = firing_matrix(features, rules, [request.out_of_domain for request in requests])
        priors = [acoustic_prior(request.probabilities) for request in requests]
        prior_rows = [[prior[c] for c in CLASSES] for prior, _ in priors]
        scores = score_clips(
            np.array(prior_rows, dtype=float).reshape(len(requests), len(CLASSES)),
            fires,
            rules,
            self.prior_weight,
        )
        return [
            self._verdict(
                request,
                prior,
                problem,
                _firings(features, rules, fires, i),
                dict(zip(CLASSES, scores.probabilities[i].tolist())),
                CLASSES[scores.labels[i]],
            )
            for i, (request, (prior, problem)) in enumerate(zip(requests, priors))
        ]

    def _verdict(
        self,
        request: ReasoningRequest,
        prior: dict[str, float],
        problem: str | None,
        firings: list[RuleFiring],
        probabilities: dict[str, float],
        label: str,
    ) -> RuleVerdict:
        confidence = probabilities[label]
        rationale = explain(prior, firings, label, confidence, self.prior_weight, self.language)
        if request.out_of_domain:
            rationale = f"{OUT_OF_DOMAIN[self.language]} {rationale}"
        if problem:
            rationale = f"{problem}; uniform prior used instead. {rationale}"
        result = ReasoningResult(
            label=label,
            confidence=min(max(confidence, 0.0), 1.0),
            probabilities=probabilities,
            rules_used=[f.rule_id for f in firings if f.supports == label],
            rationale=rationale,
            reasoner=self.name,
            fallback=problem is not None,
            fallback_reason=f"{problem}; decided from rules alone" if problem else None,
        )
        return RuleVerdict(result=result, probabilities=probabilities, prior=prior, firings=firings)

    def reason(self, requests: Sequence[ReasoningRequest]) -> list[ReasoningResult]:
        """Answer every request, in order."""
        return [verdict.result for verdict in self.verdicts(requests)]
