from __future__ import annotations

import math
from typing import Any

import pytest

from vietser.decision import ClipEvidence
from vietser.errors import ConfigError
from vietser.reasoning import ReasoningRequest
from vietser.rules.engine import RuleEngine, evaluate_rules
from vietser.rules.rulebook import Rulebook, default_rulebook

UNIFORM = {"calm": 1 / 3, "angry": 1 / 3, "panic": 1 / 3}

# Speaker-relative z-scores of a high-pitched, fast, choppy clip with normal loudness.
PANIC_Z = {
    "prosody.f0_mean_st": 2.0,
    "egemaps.loudness_sma3_amean": 0.0,
    "prosody.speech_rate": 1.6,
    "egemaps.VoicedSegmentsPerSec": 1.4,
    "prosody.jitter_local": 1.5,
    "prosody.hnr_db": -1.2,
}
ANGRY_Z = {
    "egemaps.loudness_sma3_amean": 2.0,
    "prosody.intensity_mean_db": 1.8,
    "egemaps.alphaRatioV_sma3nz_amean": 1.5,
    "egemaps.hammarbergIndexV_sma3nz_amean": -1.4,
    "prosody.f0_mean_st": 0.9,
    "prosody.f0_slope_st_per_s": -1.0,
}
CALM_Z = {
    "prosody.f0_mean_st": -0.6,
    "egemaps.loudness_sma3_amean": -0.7,
    "prosody.speech_rate": -0.5,
    "prosody.intensity_range_db": -0.4,
    "prosody.f0_range_st": -0.9,
    "egemaps.F0semitoneFrom27.5Hz_sma3nz_stddevNorm": -0.3,
}


def _evidence(z: dict[str, float], values: dict[str, float] | None = None) -> ClipEvidence:
    return ClipEvidence(clip_id="clip.wav", values=values or {}, z=z)


def _request(z: dict[str, float], probabilities: dict[str, float] = UNIFORM) -> ReasoningRequest:
    return ReasoningRequest(evidence=_evidence(z), probabilities=probabilities)


def _rulebook(*rules: dict[str, Any]) -> Rulebook:
    return Rulebook.model_validate({"name": "t", "version": 1, "rules": list(rules)})


def _rule(
    rule_id: str, supports: str, weight: float, feature: str = "prosody.f0_mean_st", **extra: Any
) -> dict[str, Any]:
    return {
        "id": rule_id,
        "when": [{"feature": feature, "op": ">", "value": 1.0}],
        "supports": supports,
        "weight": weight,
        "rationale": {"en": f"{rule_id} holds.", "vi": f"{rule_id} đúng."},
        "provenance": "person",
        **extra,
    }


def _fired(z: dict[str, float]) -> set[str]:
    return {firing.rule_id for firing in evaluate_rules(default_rulebook(), _evidence(z))}


def test_high_pitch_fast_choppy_jittery_clip_fires_panic_rules_only() -> None:
    fired = _fired(PANIC_Z)

    assert {
        "panic-high-pitch-without-loudness",
        "panic-fast-choppy-speech",
        "panic-jittery-breathy-voice",
    } <= fired
    assert all(rule_id.startswith("panic-") for rule_id in fired)


def test_loud_tense_falling_clip_fires_angry_rules_only() -> None:
    fired = _fired(ANGRY_Z)

    assert {"angry-loud-voice", "angry-tense-voice", "angry-high-falling-pitch"} <= fired
    assert all(rule_id.startswith("angry-") for rule_id in fired)


@pytest.mark.parametrize(("z", "label"), [(PANIC_Z, "panic"), (ANGRY_Z, "angry"), (CALM_Z, "calm")])
def test_default_rulebook_decides_planted_evidence_from_a_uniform_prior(
    z: dict[str, float], label: str
) -> None:
    [result] = RuleEngine(default_rulebook()).reason([_request(z)])

    assert result.label == label
    assert result.confidence > 0.6


def test_z_scores_keyed_by_z_prefixed_column_are_found() -> None:
    prefixed = {f"z.{column}": value for column, value in PANIC_Z.items()}

    assert _fired(prefixed) == _fired(PANIC_Z)


def test_raw_scale_condition_compares_the_raw_value() -> None:
    rule = _rule("slow-speech", "calm", 1.0, feature="prosody.speech_rate")
    rule["when"] = [{"feature": "prosody.speech_rate", "op": "<", "value": 3.0, "scale": "raw"}]
    evidence = _evidence(z={"prosody.speech_rate": 5.0}, values={"prosody.speech_rate": 2.5})

    assert [f.rule_id for f in evaluate_rules(_rulebook(rule), evidence)] == ["slow-speech"]


def test_missing_and_nan_features_never_fire_and_keep_the_acoustic_answer() -> None:
    z = {"prosody.f0_mean_st": math.nan, "egemaps.loudness_sma3_amean": math.inf}
    probabilities = {"calm": 0.2, "angry": 0.5, "panic": 0.3}

    [result] = RuleEngine(default_rulebook()).reason([_request(z, probabilities)])

    assert evaluate_rules(default_rulebook(), _evidence(z)) == []
    assert (result.label, result.rules_used, result.fallback) == ("angry", [], False)
    assert result.confidence == pytest.approx(0.5)


def test_disabled_rule_does_not_fire() -> None:
    rulebook = _rulebook(_rule("high", "panic", 1.0, enabled=False))

    assert evaluate_rules(rulebook, _evidence({"prosody.f0_mean_st": 3.0})) == []


def test_strong_prior_outweighs_a_weak_rule() -> None:
    engine = RuleEngine(_rulebook(_rule("high", "panic", 0.3)))
    prior = {"calm": 0.8, "angry": 0.1, "panic": 0.1}

    [result] = engine.reason([_request({"prosody.f0_mean_st": 2.0}, prior)])

    assert result.label == "calm"
    assert result.rules_used == []


def test_strong_rules_flip_a_weak_prior() -> None:
    engine = RuleEngine(_rulebook(_rule("high", "panic", 2.0)))
    prior = {"calm": 0.3, "angry": 0.4, "panic": 0.3}

    [result] = engine.reason([_request({"prosody.f0_mean_st": 2.0}, prior)])

    assert (result.label, result.rules_used) == ("panic", ["high"])


def test_probabilities_are_softmax_of_weighted_log_prior_plus_rule_weights() -> None:
    engine = RuleEngine(_rulebook(_rule("high", "panic", 1.0)), prior_weight=0.5)
    prior = {"calm": 0.6, "angry": 0.3, "panic": 0.1}
    scores = {c: 0.5 * math.log(p) + (1.0 if c == "panic" else 0.0) for c, p in prior.items()}
    total = sum(math.exp(s) for s in scores.values())

    verdict = engine.verdict(_request({"prosody.f0_mean_st": 2.0}, prior))

    assert verdict.probabilities == pytest.approx(
        {c: math.exp(s) / total for c, s in scores.items()}
    )


def test_zero_prior_weight_decides_from_rules_alone() -> None:
    engine = RuleEngine(_rulebook(_rule("high", "panic", 0.1)), prior_weight=0.0)
    prior = {"calm": 0.98, "angry": 0.01, "panic": 0.01}

    [result] = engine.reason([_request({"prosody.f0_mean_st": 2.0}, prior)])

    assert result.label == "panic"


def test_exact_tie_goes_to_the_class_backed_by_a_rule() -> None:
    engine = RuleEngine(_rulebook(_rule("high", "angry", math.log(2))))
    prior = {"calm": 0.5, "angry": 0.25, "panic": 0.25}

    verdict = engine.verdict(_request({"prosody.f0_mean_st": 2.0}, prior))

    assert verdict.probabilities["calm"] == pytest.approx(verdict.probabilities["angry"])
    assert verdict.result.label == "angry"


def test_fired_rules_are_listed_highest_priority_first() -> None:
    rulebook = _rulebook(
        _rule("low-priority", "panic", 1.0), _rule("top", "panic", 1.0, priority=2)
    )

    [result] = RuleEngine(rulebook).reason([_request({"prosody.f0_mean_st": 2.0})])

    assert result.rules_used == ["top", "low-priority"]


def test_rationale_cites_every_fired_rule_and_the_prior() -> None:
    rulebook = _rulebook(_rule("panicky", "panic", 2.0), _rule("angry-too", "angry", 0.5))

    [result] = RuleEngine(rulebook).reason([_request({"prosody.f0_mean_st": 2.0})])

    assert result.rules_used == ["panicky"]
    assert "panicky holds." in result.rationale and "angry-too holds." in result.rationale
    assert "Acoustic model: calm 0.33" in result.rationale


def test_vietnamese_rationale_uses_vietnamese_rule_text_and_class_names() -> None:
    engine = RuleEngine(_rulebook(_rule("panicky", "panic", 2.0)), language="vi")

    [result] = engine.reason([_request({"prosody.f0_mean_st": 2.0})])

    assert "panicky đúng." in result.rationale and "hoảng loạn" in result.rationale


def test_vietnamese_rationale_writes_decimal_commas_and_english_points() -> None:
    request = _request({"prosody.f0_mean_st": 2.0})
    rulebook = _rulebook(_rule("panicky", "panic", 1.5))

    [vietnamese] = RuleEngine(rulebook, prior_weight=0.5, language="vi").reason([request])
    [english] = RuleEngine(rulebook, prior_weight=0.5).reason([request])

    assert "bình tĩnh 0,33" in vietnamese.rationale and "(trọng số 0,5)" in vietnamese.rationale
    assert "(+1,5)" in vietnamese.rationale and f"hoảng loạn {vietnamese.confidence:.2f}".replace(".", ",") in vietnamese.rationale
    assert "calm 0.33" in english.rationale and "(prior weight 0.5)" in english.rationale and "(+1.5)" in english.rationale


def test_unusable_acoustic_probabilities_fall_back_to_rules_and_are_flagged() -> None:
    engine = RuleEngine(_rulebook(_rule("high", "panic", 1.0)))

    [result] = engine.reason([_request({"prosody.f0_mean_st": 2.0}, {"calm": 0.5, "angry": 0.5})])

    assert (result.label, result.fallback) == ("panic", True)
    assert "panic" in (result.fallback_reason or "")
    assert result.rationale.startswith("acoustic probabilities unusable")


def test_every_request_is_answered_in_order() -> None:
    requests = [_request(PANIC_Z), _request({}), _request(CALM_Z), _request(ANGRY_Z)]

    results = RuleEngine(default_rulebook()).reason(requests)

    assert [r.label for r in results] == ["panic", "calm", "calm", "angry"]
    assert all(r.reasoner == "rules" for r in results)


def test_negative_prior_weight_is_rejected() -> None:
    with pytest.raises(ConfigError, match="prior_weight"):
        RuleEngine(default_rulebook(), prior_weight=-1.0)


def test_rules_do_not_fire_on_a_clip_outside_the_training_domain() -> None:
    engine = RuleEngine(default_rulebook())
    inside = engine.reason([_request(PANIC_Z)])[0]
    outside = engine.reason([_request(PANIC_Z).model_copy(update={"out_of_domain": True})])[0]

    assert inside.label == "panic" and inside.rules_used
    assert outside.rules_used == []
    assert outside.rationale.startswith("Out of the training domain: no rule applies")
