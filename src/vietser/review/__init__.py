"""Human review web app and HTTP API over a run directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vietser.exports import lazy_exports

if TYPE_CHECKING:
    from vietser.review.app import create_app
    from vietser.review.app import review_url
    from vietser.review.app import serve_review
    from vietser.review.store import Review
    from vietser.review.store import ReviewStore
    from vietser.review.store import RuleProposal

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "create_app": "vietser.review.app",
        "review_url": "vietser.review.app",
        "serve_review": "vietser.review.app",
        "Review": "vietser.review.store",
        "ReviewStore": "vietser.review.store",
        "RuleProposal": "vietser.review.store",
    },
)
