"""Queue order, progress and agreement, computed from Decisions and Reviews."""

from __future__ import annotations

import pytest

from vietser.decision import Decision, Route
from vietser.review.queue import agreement, build_queue, latest_labels, needs_review, uncertainty
from vietser.review.store import Review


def decision(
    clip_id: str, probs: tuple[float, float, float], route: Route = Route.DELEGATED, label: str = "calm"
) -> Decision:
    probabilities = dict(zip(("calm", "angry", "panic"), probs))
    return Decision(
        clip_id=clip_id,
        label=label,
        probabilities=probabilities,
        acoustic_label=max(probabilities, key=probabilities.__getitem__),
        confidence=max(probs),
        route=route,
        reasoner="rules" if route == Route.DELEGATED else "acoustic",
    )


def review(number: int, clip_id: str, reviewer: str, label: str) -> Review:
    return Review(
        id=number, clip_id=clip_id, reviewer=reviewer, label=label, previous_label=None, note="", created_at=""
    )


def test_uncertainty_is_one_minus_the_top_two_margin() -> None:
    assert uncertainty(decision("a", (0.5, 0.3, 0.2))) == pytest.approx(0.8)


def test_confident_high_confidence_clips_stay_out_of_the_queue() -> None:
    assert not needs_review(decision("a", (0.9, 0.05, 0.05), Route.CONFIDENT))
    assert needs_review(decision("b", (0.5, 0.3, 0.2), Route.CONFIDENT))
    assert needs_review(decision("c", (0.9, 0.05, 0.05), Route.DELEGATED))


def test_queue_puts_the_most_uncertain_clip_first() -> None:
    decisions = {d.clip_id: d for d in [decision("sure", (0.7, 0.2, 0.1)), decision("toss", (0.4, 0.39, 0.21))]}
    assert [item.clip_id for item in build_queue(decisions, []).items] == ["toss", "sure"]


def test_next_clip_skips_reviewed_and_current_clips() -> None:
    decisions = {
        d.clip_id: d
        for d in [decision(c, p) for c, p in [("a", (0.4, 0.4, 0.2)), ("b", (0.5, 0.3, 0.2)), ("c", (0.6, 0.3, 0.1))]]
    }
    queue = build_queue(decisions, [review(1, "a", "bob", "calm")], reviewer="bob")
    assert (queue.done, queue.remaining) == (1, 2)
    assert queue.next_clip(after="b") == "c"


def test_latest_label_per_reviewer_wins() -> None:
    reviews = [review(1, "a", "bob", "calm"), review(2, "a", "bob", "panic"), review(3, "a", "eve", "angry")]
    assert latest_labels(reviews) == {("a", "bob"): "panic", ("a", "eve"): "angry"}


def test_agreement_counts_latest_labels_matching_the_pipeline() -> None:
    decisions = {"a": decision("a", (0.4, 0.4, 0.2), label="calm")}
    result = agreement(
        decisions, [review(1, "a", "bob", "panic"), review(2, "a", "bob", "calm"), review(3, "a", "eve", "angry")]
    )
    assert (result.agreed, result.total, result.rate) == (1, 2, 0.5)
