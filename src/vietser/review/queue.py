"""The review queue: which clips a person should hear, most uncertain first."""

from __future__ import annotations

from typing import Iterable

from pydantic import BaseModel, computed_field

from vietser.decision import Decision, Route
from vietser.review.store import Review

DEFAULT_LOW_CONFIDENCE = 0.6


class QueueItem(BaseModel):
    """One clip waiting for (or done with) review."""

    clip_id: str
    label: str
    acoustic_label: str
    confidence: float
    uncertainty: float
    route: Route
    reviewed: bool


class Agreement(BaseModel):
    """How often reviewers' latest labels match the pipeline's label."""

    agreed: int
    total: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rate(self) -> float | None:
        return self.agreed / self.total if self.total else None


class Queue(BaseModel):
    """The ordered queue and progress; ``reviewed`` is per reviewer when one is given."""

    reviewer: str | None
    done: int
    remaining: int
    agreement: Agreement
    items: list[QueueItem]

    def next_clip(self, after: str | None = None) -> str | None:
        """First clip not yet reviewed, other than ``after``."""
        return next((item.clip_id for item in self.items if not item.reviewed and item.clip_id != after), None)


def uncertainty(decision: Decision) -> float:
    """One minus the margin between the two most probable classes (1 = a coin toss)."""
    top = sorted(decision.probabilities.values(), reverse=True) + [0.0, 0.0]
    return round(1.0 - (top[0] - top[1]), 6)


def needs_review(decision: Decision, low_confidence: float = DEFAULT_LOW_CONFIDENCE) -> bool:
    """Delegated clips and clips decided with low confidence go to people."""
    return decision.route == Route.DELEGATED or decision.confidence < low_confidence


def latest_labels(reviews: Iterable[Review]) -> dict[tuple[str, str], str]:
    """Each reviewer's latest label per clip, keyed by (clip_id, reviewer)."""
    latest: dict[tuple[str, str], Review] = {}
    for review in reviews:
        key = (review.clip_id, review.reviewer)
        if key not in latest or review.id > latest[key].id:
            latest[key] = review
    return {key: review.label for key, review in latest.items()}


def agreement(decisions: dict[str, Decision], reviews: Iterable[Review]) -> Agreement:
    """Agreement of every reviewer's latest label with the pipeline's label."""
    pairs = [(decisions[clip], label) for (clip, _), label in latest_labels(reviews).items() if clip in decisions]
    return Agreement(agreed=sum(d.label == label for d, label in pairs), total=len(pairs))


def build_queue(
    decisions: dict[str, Decision],
    reviews: list[Review],
    reviewer: str | None = None,
    low_confidence: float = DEFAULT_LOW_CONFIDENCE,
) -> Queue:
    """Clips needing review, most uncertain first (ties: lower confidence, then clip id)."""
    reviewed = {r.clip_id for r in reviews if reviewer is None or r.reviewer == reviewer}
    chosen = [d for d in decisions.values() if needs_review(d, low_confidence)]
    chosen.sort(key=lambda d: (-uncertainty(d), d.confidence, d.clip_id))
    items = [
        QueueItem(
            clip_id=d.clip_id,
            label=d.label,
            acoustic_label=d.acoustic_label,
            confidence=d.confidence,
            uncertainty=uncertainty(d),
            route=d.route,
            reviewed=d.clip_id in reviewed,
        )
        for d in chosen
    ]
    done = sum(item.reviewed for item in items)
    return Queue(
        reviewer=reviewer,
        done=done,
        remaining=len(items) - done,
        agreement=agreement(decisions, reviews),
        items=items,
    )
