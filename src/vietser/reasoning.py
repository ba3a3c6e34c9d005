"""The reasoner interface: the pipeline holds one and does not know which."""

from __future__ import annotations

from typing import Protocol, Self, Sequence

from pydantic import BaseModel, ConfigDict, Field

from vietser.decision import ClipEvidence, ReasonerName


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
    rules_used: list[str] = Field(default_factory=list)
    rationale: str = ""
    reasoner: ReasonerName
    fallback: bool = False
    fallback_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cached: bool = False


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
