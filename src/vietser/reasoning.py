"""The reasoner interface: the pipeline holds one and does not know which."""

from __future__ import annotations

import math
from typing import Protocol, Self, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vietser.decision import ClipEvidence, ReasonerName


# A label this close to the top probability still leads the distribution (the rule engine breaks ties
# equal to 9 decimals by rule priority).
DISTRIBUTION_TIE = 1e-9


class ReasoningRequest(BaseModel):
    """What a reasoner sees about one ambiguous clip."""

    model_config = ConfigDict(extra="forbid")

    evidence: ClipEvidence
    probabilities: dict[str, float]
    transcript: str | None = None
    out_of_domain: bool = Field(default=False, description="the clip lies outside the acoustic training data")
    delegated: bool = Field(
        default=True,
        description="the router sent the clip because the acoustic model was unsure of it; False when a baseline "
        "asks about every clip (or a sample)",
    )


class ReasoningResult(BaseModel):
    """A reasoner's answer for one clip."""

    model_config = ConfigDict(extra="forbid")

    label: str
    confidence: float = Field(ge=0.0, le=1.0)
    probabilities: dict[str, float] | None = Field(
        default=None,
        description="the reasoner's own class distribution (the rule engine's softmax over its scores), led by "
        "label; None when the reasoner states only a confidence on its label",
    )
    rules_used: list[str] = Field(default_factory=list)
    rationale: str = ""
    reasoner: ReasonerName
    fallback: bool = False
    fallback_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cached: bool = False

    @model_validator(mode="after")
    def _distribution_led_by_label(self) -> ReasoningResult:
        if self.probabilities is None:
            return self
        values = list(self.probabilities.values())
        if not all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in values) or abs(sum(values) - 1.0) > 1e-6:
            raise ValueError(f"probabilities must lie in [0, 1] and sum to 1, got {self.probabilities}")
        if self.probabilities.get(self.label, -1.0) < max(values) - DISTRIBUTION_TIE:
            raise ValueError(f"label {self.label!r} must be a most probable class of {self.probabilities}")
        return self


class Reasoner(Protocol):
    """Decides ambiguous clips from their evidence; a context manager that releases what it holds
    (the LLM reasoner's call log) on exit::

        with make_reasoner(config, rulebook) as reasoner:
            results = reasoner.reason(requests)
    """

    name: ReasonerName

    def reason(self, requests: Sequence[ReasoningRequest]) -> list[ReasoningResult]:
        """Answer every request, in order; never drops one (failures fall back, flagged)."""
        ...

    def close(self) -> None:
        """Release what the reasoner holds; it answers no more requests afterwards."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...
