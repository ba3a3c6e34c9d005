"""Result types that flow out of the pipeline: evidence cues and the Decision."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator


class Route(str, Enum):
    """Which path a clip took through confidence routing."""

    CONFIDENT = "confident"
    DELEGATED = "delegated"


ReasonerName = Literal["acoustic", "rules", "llm"]


class Cue(BaseModel):
    """One piece of feature-level evidence for a clip."""

    model_config = ConfigDict(extra="forbid")

    feature: str = Field(description="feature column, e.g. 'prosody.speech_rate'")
    name: str = Field(description="human name, e.g. 'speaking rate'")
    value: float = Field(description="raw value in `unit`")
    unit: str
    z: float = Field(description="z-score against the speaker's own baseline")
    direction: Literal["high", "low"]
    supports: str | None = Field(default=None, description="class this cue points to")
    attribution: float = Field(default=0.0, description="model's signed contribution to its decision")
    text_en: str
    text_vi: str


class ClipEvidence(BaseModel):
    """All feature values of one clip plus its strongest cues."""

    model_config = ConfigDict(extra="forbid")

    clip_id: str
    values: dict[str, float] = Field(description="raw feature values by column")
    z: dict[str, float] = Field(description="speaker-normalised z-scores by column")
    cues: list[Cue] = Field(default_factory=list, description="strongest cues, strongest first")


class Decision(BaseModel):
    """The one output shape of the pipeline for one clip."""

    model_config = ConfigDict(extra="forbid")

    clip_id: str
    path: str | None = None
    speaker: str | None = None
    split: str | None = None
    true_label: str | None = None
    label: str
    probabilities: dict[str, float] = Field(
        description="class probabilities of the system that decided: the acoustic model's for a confident clip "
        "(and a fallback), the reasoner's for a delegated one: the rule engine's distribution over the classes, "
        "or for a reasoner that states only a confidence (an LLM) that confidence on its label and the rest "
        "shared equally (see reasoner_probabilities)"
    )
    acoustic_probabilities: dict[str, float] = Field(
        description="the acoustic model's class probabilities; equal to probabilities unless a reasoner decided "
        "(a decision written before this field existed reads its probabilities here)"
    )
    acoustic_label: str
    confidence: float
    route: Route
    reasoner: ReasonerName
    evidence: list[Cue] = Field(default_factory=list)
    rationale: str = ""
    rules_applied: list[str] = Field(default_factory=list)
    fallback: bool = False
    fallback_reason: str | None = None
    ood_score: float | None = Field(
        default=None,
        description="distance of the clip's features from the training clips; 1.0 is the edge of the "
        "training data (its 99th percentile), NaN-free; None for a model without a detector",
    )
    out_of_domain: bool = Field(
        default=False,
        description="ood_score above 1: outside what the model was trained on. Its probabilities are tempered "
        "towards the training prior and it goes to the reasoner (and the review queue)",
    )
    call_id: str | None = Field(default=None, description="the call this segment was cut from (`predict --segments`)")
    channel: str | None = Field(default=None, description="the call's speaker: a channel name, e.g. 'agent'")
    start_s: float | None = Field(default=None, description="segment start in the call, seconds")
    end_s: float | None = Field(default=None, description="segment end in the call, seconds")

    @model_validator(mode="before")
    @classmethod
    def _acoustic_probabilities_default(cls, data: Any) -> Any:
        """Decisions written before ``acoustic_probabilities`` held the acoustic ones in ``probabilities``."""
        if isinstance(data, dict) and "acoustic_probabilities" not in data and "probabilities" in data:
            return {**data, "acoustic_probabilities": data["probabilities"]}
        return data

    @model_serializer(mode="wrap")
    def _without_absent_segment(self, handler: SerializerFunctionWrapHandler) -> dict:
        """A clip's Decision serialises as before segments existed: segment fields only when set."""
        data = handler(self)
        for name in SEGMENT_FIELDS:
            if data.get(name, 0) is None:
                del data[name]
        return data


SEGMENT_FIELDS: tuple[str, ...] = ("call_id", "channel", "start_s", "end_s")


def reasoner_probabilities(label: str, confidence: float, classes: Sequence[str]) -> dict[str, float]:
    """A reasoner's answer that states only a confidence (an LLM's) as class probabilities: ``label`` gets
    ``confidence`` and the other classes share the rest equally, since the answer ranks only the class it
    names (a reasoner with a distribution of its own, the rule engine, passes that through instead). A confidence below 1/k (k classes) is
    raised to 1/k, so the decided label is never less probable than another.
    """
    share = 1.0 / len(classes)
    if confidence <= share:
        return {name: share for name in classes}
    top = min(confidence, 1.0)
    rest = (1.0 - top) / (len(classes) - 1)
    return {name: top if name == label else rest for name in classes}
