"""Human review web app and HTTP API over a run directory."""

from vietser.review.app import create_app
from vietser.review.app import review_url
from vietser.review.app import serve_review
from vietser.review.store import Review
from vietser.review.store import ReviewStore
from vietser.review.store import RuleProposal

__all__ = ["Review", "ReviewStore", "RuleProposal", "create_app", "review_url", "serve_review"]
