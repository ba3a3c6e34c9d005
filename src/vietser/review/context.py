"""What every request handler of the review app shares: run data, store, settings, predictor."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from fastapi import Request

from vietser.decision import Decision
from vietser.review.queue import Queue, build_queue
from vietser.review.rundir import RunData
from vietser.review.store import ReviewStore
from vietser.rules.rulebook import Rulebook

Predictor = Callable[[Path], Decision]


@dataclass(frozen=True)
class ReviewSettings:
    """Limits and access control of one review app."""

    reviewer_token: str | None
    max_upload_bytes: int
    max_duration_s: float
    low_confidence: float


class LazyPredictor:
    """Builds the run's predictor on first use, then calls it one upload at a time.

    Loading the model is slow and only /api/predict needs it, so review-only use
    never pays for it. Calls are serialised because the pipeline's predictor is
    not promised to be thread-safe.
    """

    def __init__(self, run_dir: Path, predictor: Predictor | None = None) -> None:
        self._run_dir = run_dir
        self._predictor = predictor
        self._lock = threading.Lock()

    def __call__(self, path: Path) -> Decision:
        with self._lock:
            if self._predictor is None:
                from vietser.run.predict import load_predictor

                self._predictor = load_predictor(self._run_dir)
            return self._predictor(path)


@dataclass(frozen=True)
class ReviewContext:
    """Shared state of one review app (held in ``app.state.review``)."""

    run: RunData
    store: ReviewStore
    rulebook: Rulebook | None
    predictor: LazyPredictor
    settings: ReviewSettings

    def queue(self, reviewer: str | None = None) -> Queue:
        """The current queue; progress counts ``reviewer``'s reviews, or anyone's when None."""
        return build_queue(self.run.decisions, self.store.reviews(), reviewer, self.settings.low_confidence)


def get_context(request: Request) -> ReviewContext:
    """FastAPI dependency: the review context of the app serving ``request``."""
    return request.app.state.review
