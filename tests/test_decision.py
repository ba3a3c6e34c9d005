"""A Decision's probabilities are those of the system that decided; the acoustic ones stay beside them."""

from __future__ import annotations

import json

import pytest

from vietser.decision import ClipEvidence, Decision, Route, reasoner_probabilities
from vietser.labels import CLASSES
from vietser.pipeline import apply_reasoning
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
