"""A Decision's probabilities are those of the system that decided; the acoustic ones stay beside them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vietser.decision import ClipEvidence, Decision, Route, reasoner_probabilities
from vietser.labels import CLASSES
from vietser.pipeline import apply_reasoning, decide
from vietser.reasoning import ReasoningRequest, ReasoningResult
from vietser.rules.engine import RuleEngine
from vietser.rules.rulebook import Rulebook

ACOUSTIC = {"calm": 0.50, "angry": 0.26, "panic": 0.24}
LOUD = {"egemaps.loudness_sma3_amean": 2.5, "prosody.intensity_mean_db": 2.0}


def _delegated() -> Decision:
    return Decision(
        clip_id="a.wav",
        label="calm",
        probabilities=ACOUSTIC,
        acoustic_label="calm",
        confidence=0.50,
        route=Route.DELEGATED,
        reasoner="acoustic",
    )


def _loud_is_angry() -> RuleEngine:
    rule = {
        "id": "loud",
        "when": [{"feature": "egemaps.loudness_sma3_amean", "op": ">", "value": 1.0}],
        "supports": "angry",
        "weight": 3.0,
        "rationale": {"en": "loud", "vi": "to"},
        "provenance": "person",
    }
    return RuleEngine(Rulebook.model_validate({"name": "t", "version": 1, "rules": [rule]}))


@pytest.mark.parametrize("confidence", [0.0, 0.2, 1 / 3, 0.5, 0.9, 1.0])
def test_a_reasoners_answer_is_a_distribution_led_by_its_label(confidence: float) -> None:
    probabilities = reasoner_probabilities("panic", confidence, CLASSES)

    assert list(probabilities) == list(CLASSES)
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert probabilities["panic"] == pytest.approx(max(confidence, 1 / 3))
    assert probabilities["panic"] >= max(probabilities["calm"], probabilities["angry"])
    assert probabilities["calm"] == probabilities["angry"]


def test_a_clip_the_rules_decided_carries_the_rules_probabilities() -> None:
    request = ReasoningRequest(evidence=ClipEvidence(clip_id="a.wav", values={}, z=LOUD), probabilities=ACOUSTIC)
    result = _loud_is_angry().reason([request])[0]

    decision = apply_reasoning(_delegated(), result)

    assert (decision.label, decision.reasoner) == ("angry", "rules")
    assert max(decision.probabilities, key=decision.probabilities.__getitem__) == "angry"
    assert decision.probabilities["angry"] == pytest.approx(result.confidence)
    assert decision.acoustic_probabilities == ACOUSTIC and decision.acoustic_label == "calm"


def test_a_clip_the_rules_decided_carries_the_engines_distribution_not_an_equal_split() -> None:
    request = ReasoningRequest(evidence=ClipEvidence(clip_id="a.wav", values={}, z=LOUD), probabilities=ACOUSTIC)
    engine = _loud_is_angry()
    verdict = engine.verdict(request)

    decision = apply_reasoning(_delegated(), engine.reason([request])[0])

    assert decision.probabilities == pytest.approx(verdict.probabilities)
    assert list(decision.probabilities) == list(ACOUSTIC)
    # The rules only add to angry: calm keeps more of the acoustic prior's lead over panic than an equal split shows.
    assert decision.probabilities["calm"] > 1.5 * decision.probabilities["panic"]


def test_an_answer_with_only_a_confidence_shares_the_rest_equally() -> None:
    decision = apply_reasoning(_delegated(), ReasoningResult(label="panic", confidence=0.7, reasoner="llm"))

    assert decision.probabilities == pytest.approx({"calm": 0.15, "angry": 0.15, "panic": 0.7})


@pytest.mark.parametrize(
    "probabilities",
    [{"calm": 0.6, "angry": 0.3, "panic": 0.1}, {"calm": 0.2, "angry": 0.2, "panic": 0.2}, {"calm": 1.2, "angry": -0.2, "panic": 0.0}],
)
def test_a_distribution_must_sum_to_one_and_be_led_by_the_label(probabilities: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="probabilities|most probable"):
        ReasoningResult(label="angry", confidence=0.3, probabilities=probabilities, reasoner="rules")


def test_a_distribution_over_other_classes_is_refused() -> None:
    result = ReasoningResult(label="angry", confidence=0.9, probabilities={"angry": 0.9, "happy": 0.1}, reasoner="rules")

    with pytest.raises(ValueError, match="not the decision's"):
        apply_reasoning(_delegated(), result)


def test_a_fallback_to_the_acoustic_model_keeps_its_probabilities() -> None:
    failed = ReasoningResult(label="calm", confidence=0.5, reasoner="acoustic", fallback=True, fallback_reason="timeout")

    decision = apply_reasoning(_delegated(), failed)

    assert decision.probabilities == decision.acoustic_probabilities == ACOUSTIC
    assert decision.fallback


def test_both_distributions_round_trip_through_json() -> None:
    decision = apply_reasoning(
        _delegated(), ReasoningResult(label="panic", confidence=0.8, reasoner="llm", rationale="shouting for help")
    )

    data = json.loads(decision.model_dump_json())

    assert data["probabilities"]["panic"] == pytest.approx(0.8)
    assert data["acoustic_probabilities"] == ACOUSTIC
    assert Decision.model_validate(data) == decision


def test_a_decision_written_before_acoustic_probabilities_reads_them_from_probabilities() -> None:
    old = _delegated().model_dump(mode="json")
    del old["acoustic_probabilities"]

    assert Decision.model_validate(old).acoustic_probabilities == ACOUSTIC


def test_decide_passes_the_engines_distribution_to_delegated_clips_and_leaves_confident_ones_acoustic() -> None:
    frame = pd.DataFrame({"clip_id": ["sure.wav", "unsure.wav"], "label": ["calm", "angry"]})
    probabilities = np.array([[0.9, 0.06, 0.04], [0.5, 0.26, 0.24]])
    evidence = [ClipEvidence(clip_id=c, values={}, z=LOUD) for c in frame["clip_id"]]
    engine = _loud_is_angry()
    expected = engine.verdict(ReasoningRequest(evidence=evidence[1], probabilities=ACOUSTIC)).probabilities

    sure, unsure = decide(
        frame, probabilities, evidence, probabilities.max(axis=1), [Route.CONFIDENT, Route.DELEGATED], engine
    )

    assert (sure.reasoner, sure.label) == ("acoustic", "calm")
    assert sure.probabilities == sure.acoustic_probabilities == pytest.approx({"calm": 0.9, "angry": 0.06, "panic": 0.04})
    assert (unsure.reasoner, unsure.label) == ("rules", "angry")
    assert unsure.probabilities == pytest.approx(expected) and unsure.acoustic_probabilities == pytest.approx(ACOUSTIC)
