from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vietser.decision import ClipEvidence
from vietser.errors import ConfigError
from vietser.labels import CLASSES
from vietser.reasoning import ReasoningRequest
from vietser.rules.core import FeatureColumns, firing_matrix, rule_labels, score_clips
from vietser.rules.engine import RuleEngine, acoustic_prior
from vietser.rules.phrases import NEGATORS, fold
from vietser.rules.rulebook import Condition, Rationale, Rule, Rulebook

FEATURES = ("prosody.f0_mean_st", "prosody.speech_rate", "voice.jitter_local")
# Coarse grids make thresholds meet observed values exactly and weights tie exactly.
VALUES = st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0, math.nan, math.inf, -math.inf])
THRESHOLDS = st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0])
WEIGHTS = st.sampled_from([0.1, 0.3, 0.5, 0.7, 1.0])
PHRASES = st.sampled_from(["cứu với", "cháy", "khiếu nại", "cuu"])
TRANSCRIPTS = st.sampled_from(
    [None, "", "Cứu với, nhà tôi cháy rồi!", "cuu voi", "Không cháy đâu.", "Tôi muốn khiếu nại!", "không, cháy"]
)
PRIORS = st.sampled_from(
    [(1 / 3, 1 / 3, 1 / 3), (0.5, 0.25, 0.25), (0.2, 0.4, 0.4), (0.0, 0.5, 0.5), (0.0, 0.0, 0.0), (0.6, 0.3, 0.1)]
)


def _rationale() -> Rationale:
    return Rationale(en="test rule", vi="luật thử")


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    if draw(st.integers(0, 3)) == 0:
        return Condition(feature="transcript", op="mentions", phrases=draw(st.lists(PHRASES, min_size=1, max_size=2)))
    feature, scale = draw(st.sampled_from(FEATURES)), draw(st.sampled_from(["z", "raw"]))
    op = draw(st.sampled_from([">", ">=", "<", "<=", "between"]))
    if op == "between":
        low, high = sorted([draw(THRESHOLDS), draw(THRESHOLDS)])
        return Condition(feature=feature, scale=scale, op=op, low=low, high=high)
    return Condition(feature=feature, scale=scale, op=op, value=draw(THRESHOLDS))


@st.composite
def rulebooks(draw: st.DrawFn) -> Rulebook:
    rules = [
        Rule(
            id=f"rule-{i}",
            when=draw(st.lists(conditions(), min_size=1, max_size=2)),
            supports=draw(st.sampled_from(CLASSES)),
            weight=draw(WEIGHTS),
            priority=draw(st.integers(0, 2)),
            enabled=draw(st.booleans()) or draw(st.booleans()),
            rationale=_rationale(),
            provenance="guideline",
        )
        for i in range(draw(st.integers(0, 6)))
    ]
    return Rulebook(name="random", version=1, rules=rules)


def _clip_values(draw: st.DrawFn, names: tuple[str, ...]) -> dict[str, float]:
    return {name: draw(VALUES) for name in names if draw(st.booleans()) or draw(st.booleans())}


@st.composite
def requests(draw: st.DrawFn) -> ReasoningRequest:
    # z-scores keyed by the raw name, by z.<name>, or both (the raw name wins).
    z_names = tuple(name for f in FEATURES for name in draw(st.sampled_from([[f], [f"z.{f}"], [f, f"z.{f}"]])))
    evidence = ClipEvidence(clip_id="c", values=_clip_values(draw, FEATURES), z=_clip_values(draw, z_names))
    return ReasoningRequest(
        evidence=evidence,
        probabilities=dict(zip(CLASSES, draw(PRIORS))),
        transcript=draw(TRANSCRIPTS),
        out_of_domain=draw(st.integers(0, 4)) == 0,
    )


BATCHES = st.lists(requests(), min_size=1, max_size=12)
PRIOR_WEIGHTS = st.sampled_from([0.0, 0.7, 1.0])


def _reference_mentions(phrases: list[str], transcript: str | None) -> bool:
    words = fold(transcript or "").split()
    for phrase in phrases:
        target = fold(phrase).split()
        for i in range(len(words) - len(target) + 1):
            if words[i : i + len(target)] == target and (i == 0 or words[i - 1] not in NEGATORS):
                return True
    return False


def _reference_holds(condition: Condition, evidence: ClipEvidence, transcript: str | None) -> bool:
    if condition.on_transcript:
        return _reference_mentions(condition.phrases or [], transcript)
    if condition.scale == "raw":
        value = evidence.values.get(condition.feature)
    else:
        value = evidence.z.get(condition.feature, evidence.z.get(f"z.{condition.feature}"))
    return value is not None and math.isfinite(value) and condition.holds(value)


def _reference(
    rulebook: Rulebook, request: ReasoningRequest, prior_weight: float
) -> tuple[str, dict[str, float], list[str]]:
    """The engine's method, one clip at a time in plain Python: label, probabilities, fired ids."""
    prior, _ = acoustic_prior(request.probabilities)
    fired = [
        rule
        for rule in rulebook.rules
        if rule.enabled
        and not request.out_of_domain
        and all(_reference_holds(c, request.evidence, request.transcript) for c in rule.when)
    ]
    fired.sort(key=lambda rule: -rule.priority)
    scores = {c: prior_weight * math.log(max(prior[c], 1e-6)) for c in CLASSES}
    for rule in fired:
        scores[rule.supports] += rule.weight
    top = max(scores.values())
    exponentials = {c: math.exp(s - top) for c, s in scores.items()}
    total = sum(exponentials.values())
    probabilities = {c: e / total for c, e in exponentials.items()}

    def key(cls: str) -> tuple[float, float, int]:
        priorities = [rule.priority for rule in fired if rule.supports == cls]
        return round(probabilities[cls], 9), max(priorities, default=-math.inf), -CLASSES.index(cls)

    return max(CLASSES, key=key), probabilities, [rule.id for rule in fired]


@settings(max_examples=100, deadline=None)
@given(rulebook=rulebooks(), batch=BATCHES, prior_weight=PRIOR_WEIGHTS)
def test_vectorised_core_equals_the_per_clip_reference_bit_for_bit(
    rulebook: Rulebook, batch: list[ReasoningRequest], prior_weight: float
) -> None:
    verdicts = RuleEngine(rulebook, prior_weight).verdicts(batch)
    expected = [_reference(rulebook, request, prior_weight) for request in batch]
    for verdict, (label, probabilities, fired) in zip(verdicts, expected):
        assert verdict.result.label == label
        assert verdict.probabilities == probabilities
        assert [firing.rule_id for firing in verdict.firings] == fired
    features = FeatureColumns.from_evidence(
        [r.evidence for r in batch], [c for r in rulebook.rules for c in r.when], [r.transcript for r in batch]
    )
    fires = firing_matrix(features, rulebook.rules, [r.out_of_domain for r in batch])
    prior = np.array([[acoustic_prior(r.probabilities)[0][c] for c in CLASSES] for r in batch])
    labels = rule_labels(prior, fires, rulebook.rules, prior_weight)
    assert [CLASSES[i] for i in labels] == [label for label, _, _ in expected]


@settings(max_examples=60, deadline=None)
@given(rulebook=rulebooks(), batch=BATCHES, prior_weight=PRIOR_WEIGHTS)
def test_engine_per_clip_equals_the_engine_on_the_whole_batch(
    rulebook: Rulebook, batch: list[ReasoningRequest], prior_weight: float
) -> None:
    engine = RuleEngine(rulebook, prior_weight)
    assert [engine.verdict(request) for request in batch] == engine.verdicts(batch)


def _table_row(evidence: ClipEvidence) -> dict[str, float]:
    row = dict(evidence.values)
    for feature in FEATURES:
        value = evidence.z.get(feature, evidence.z.get(f"z.{feature}"))
        if value is not None:
            row[f"z.{feature}"] = value
    return row


@settings(max_examples=60, deadline=None)
@given(rulebook=rulebooks(), batch=BATCHES)
def test_firing_matrix_of_a_features_table_equals_firing_on_evidence(
    rulebook: Rulebook, batch: list[ReasoningRequest]
) -> None:
    """Fitting and induction read ``z.<feature>``, raw and transcript columns of the features table."""
    rows = [_table_row(request.evidence) for request in batch]
    table = pd.DataFrame(rows, columns=[*FEATURES, *(f"z.{f}" for f in FEATURES)], dtype=float)
    table["transcript"] = [request.transcript for request in batch]
    expected = np.array(
        [
            [all(_reference_holds(c, r.evidence, r.transcript) for c in rule.when) for rule in rulebook.rules]
            for r in batch
        ],
        dtype=bool,
    ).reshape(len(batch), len(rulebook.rules))
    assert (firing_matrix(table, rulebook.rules) == expected).all()


def _rule(rule_id: str, supports: str, priority: int, weight: float = 1.0) -> Rule:
    return Rule(
        id=rule_id,
        when=[Condition(feature="prosody.f0_mean_st", op=">", value=1.0)],
        supports=supports,  # type: ignore[arg-type]
        weight=weight,
        priority=priority,
        rationale=_rationale(),
        provenance="guideline",
    )


def _tie_request() -> ReasoningRequest:
    evidence = ClipEvidence(clip_id="tie", values={}, z={"prosody.f0_mean_st": 2.0})
    return ReasoningRequest(evidence=evidence, probabilities=dict.fromkeys(CLASSES, 1 / 3))


@pytest.mark.parametrize(
    ("angry_priority", "panic_priority", "winner"), [(0, 5, "panic"), (5, 0, "angry"), (3, 3, "angry")]
)
def test_an_exact_tie_goes_to_the_class_of_the_higher_priority_rule(
    angry_priority: int, panic_priority: int, winner: str
) -> None:
    """Equal weights on a uniform prior tie angry and panic; priority decides, then CLASSES order."""
    rulebook = Rulebook(
        name="tie",
        version=1,
        rules=[_rule("angry-rule", "angry", angry_priority), _rule("panic-rule", "panic", panic_priority)],
    )
    [result] = RuleEngine(rulebook).reason([_tie_request()])
    assert result.label == winner
    assert result.rules_used == [f"{winner}-rule"]


def test_probabilities_equal_to_nine_decimals_tie() -> None:
    rulebook = Rulebook(
        name="near-tie",
        version=1,
        rules=[_rule("angry-rule", "angry", 0, weight=1.0 + 1e-12), _rule("panic-rule", "panic", 1)],
    )
    verdict = RuleEngine(rulebook).verdict(_tie_request())
    assert verdict.probabilities["angry"] > verdict.probabilities["panic"]
    assert verdict.result.label == "panic"


def test_a_tie_among_several_rows_is_broken_row_by_row() -> None:
    rules = [_rule("angry-rule", "angry", 0), _rule("panic-rule", "panic", 1)]
    fires = np.array([[True, True], [True, False], [False, False]])
    prior = np.full((3, 3), 1 / 3)
    scores = score_clips(prior, fires, rules, prior_weight=1.0)
    assert [CLASSES[i] for i in scores.labels] == ["panic", "angry", "calm"]
    assert rule_labels(prior, fires, rules, prior_weight=1.0).tolist() == scores.labels.tolist()


def test_an_out_of_domain_row_fires_no_rule() -> None:
    rules = [_rule("angry-rule", "angry", 0)]
    evidence = [_tie_request().evidence] * 2
    features = FeatureColumns.from_evidence(evidence, rules[0].when)
    assert firing_matrix(features, rules, out_of_domain=[False, True]).tolist() == [[True], [False]]


def test_a_column_the_frame_lacks_never_holds() -> None:
    frame = pd.DataFrame({"z.voice.jitter_local": [3.0, 3.0]})
    assert not firing_matrix(frame, [_rule("angry-rule", "angry", 0)]).any()


def test_score_clips_refuses_mismatched_shapes_and_a_negative_prior_weight() -> None:
    rules = [_rule("angry-rule", "angry", 0)]
    with pytest.raises(ConfigError, match="expected"):
        score_clips(np.full((2, 3), 1 / 3), np.zeros((3, 1), dtype=bool), rules, 1.0)
    with pytest.raises(ConfigError, match="prior_weight"):
        score_clips(np.full((2, 3), 1 / 3), np.zeros((2, 1), dtype=bool), rules, -1.0)


def test_weights_are_added_highest_priority_first_whatever_the_rulebook_order() -> None:
    """Float addition is not associative: the probabilities differ in the last bit by order."""
    rulebook = Rulebook(
        name="order",
        version=1,
        rules=[_rule("low-first", "angry", 0, weight=0.3), _rule("high-second", "angry", 1, weight=0.7)],
    )
    request = _tie_request().model_copy(update={"probabilities": dict(zip(CLASSES, (0.2, 0.4, 0.4)))})
    verdict = RuleEngine(rulebook).verdict(request)
    assert [firing.rule_id for firing in verdict.firings] == ["high-second", "low-first"]
    assert verdict.probabilities == _reference(rulebook, request, 1.0)[1]
