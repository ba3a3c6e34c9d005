"""Rule drafts from a clip's evidence."""

from __future__ import annotations

import pytest

from tests.review.conftest import cue
from vietser.decision import Decision, Route
from vietser.labels import Emotion
from vietser.review.proposals import build_rule, prefill_conditions, threshold_from_z


def clip(evidence: list) -> Decision:
    return Decision(
        clip_id="corpus/spk1/utt 7.wav",
        label="calm",
        probabilities={"calm": 0.5, "angry": 0.3, "panic": 0.2},
        acoustic_label="calm",
        confidence=0.5,
        route=Route.DELEGATED,
        reasoner="rules",
        evidence=evidence,
    )


@pytest.mark.parametrize(
    "z, expected", [(2.3, (">=", 2.0)), (1.49, (">=", 1.0)), (-1.7, ("<=", -1.5)), (0.2, (">=", 0.0))]
)
def test_threshold_is_rounded_towards_zero_so_the_clip_satisfies_it(z: float, expected: tuple[str, float]) -> None:
    assert threshold_from_z(z) == expected


def test_prefill_uses_the_strongest_cues_for_the_chosen_label() -> None:
    decision = clip(
        [
            cue("a.weak", "weak", 0.8, "panic"),
            cue("b.other", "other", 3.0, "angry"),
            cue("c.strong", "strong", -2.1, "panic"),
        ]
    )
    assert [(c.feature, c.op, c.value) for c in prefill_conditions(decision, "panic")] == [
        ("c.strong", "<=", -2.0),
        ("a.weak", ">=", 0.5),
    ]


def test_prefill_falls_back_to_the_strongest_cues_when_none_point_to_the_label() -> None:
    decision = clip([cue("a.x", "x", 1.2, "angry")])
    assert [c.feature for c in prefill_conditions(decision, "calm")] == ["a.x"]


def test_proposed_rule_is_a_person_rule_with_a_slug_id_naming_reviewer_and_clip() -> None:
    decision = clip([cue("a.x", "x", 1.2, "angry")])
    rule = build_rule(
        decision, Emotion.ANGRY, "Bob_2", prefill_conditions(decision, "angry"), rationale_en="e", rationale_vi="v"
    )
    assert rule.id == "review-bob-2-utt-7-angry"
    assert rule.provenance == "person"
