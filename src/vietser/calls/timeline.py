"""A call's timeline read as a whole: smoothing across neighbouring segments and the per-call summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vietser.decision import Decision, Route

ALARM_LABELS: tuple[str, ...] = ("angry", "panic")


class Stretch(BaseModel):
    """Consecutive segments of one speaker with one label."""

    model_config = ConfigDict(extra="forbid")

    label: str
    start_s: float
    end_s: float
    segments: int


class PeakSegment(BaseModel):
    """The segment with the highest angry or panic probability."""

    model_config = ConfigDict(extra="forbid")

    clip_id: str
    start_s: float
    end_s: float
    label: str
    probability: float = Field(description="its probability of `label`")


class SpeakerSummary(BaseModel):
    """One speaker (channel) of a call."""

    model_config = ConfigDict(extra="forbid")

    channel: str
    silent: bool = Field(description="the channel holds no sound above the silence floor")
    segments: int
    speech_s: float
    share: dict[str, float] = Field(description="share of the speaker's segment time per label")
    first: dict[str, Stretch] = Field(description="first angry / panic stretch")
    longest: dict[str, Stretch] = Field(description="longest angry / panic stretch")
    peak: PeakSegment | None
    delegated: int
    out_of_domain: int
    own_baseline: bool = Field(description="enough segments to be read against the speaker's own baseline")


class CallSummary(BaseModel):
    """One call: its speakers' summaries and notes on what could not be decided."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["call_summary"] = "call_summary"
    call_id: str
    path: str
    duration_s: float
    smoothing_s: float
    speakers: list[SpeakerSummary]
    skipped: int = Field(description="segments found but not decided (no voiced speech)")
    notes: list[str] = Field(default_factory=list)


def stretches(decisions: Sequence[Decision]) -> list[Stretch]:
    """Runs of consecutive same-label decisions of one speaker (decisions in time order)."""
    runs: list[Stretch] = []
    for decision in decisions:
        start, end = float(decision.start_s or 0.0), float(decision.end_s or 0.0)
        if runs and runs[-1].label == decision.label:
            runs[-1] = runs[-1].model_copy(update={"end_s": end, "segments": runs[-1].segments + 1})
        else:
            runs.append(Stretch(label=decision.label, start_s=start, end_s=end, segments=1))
    return runs


def summarize_speaker(
    channel: str, decisions: Sequence[Decision], silent: bool, speech_s: float, own_baseline: bool
) -> SpeakerSummary:
    """The summary of one speaker's decisions (in time order)."""
    durations = np.array([float(d.end_s or 0) - float(d.start_s or 0) for d in decisions])
    total = float(durations.sum())
    labels = sorted({label for d in decisions for label in d.probabilities})
    share = {
        label: float(durations[[d.label == label for d in decisions]].sum() / total) if total else 0.0
        for label in labels
    }
    runs = stretches(decisions)
    alarm_runs = {label: [run for run in runs if run.label == label] for label in ALARM_LABELS}
    return SpeakerSummary(
        channel=channel,
        silent=silent,
        segments=len(decisions),
        speech_s=round(speech_s, 3),
        share=share,
        first={label: found[0] for label, found in alarm_runs.items() if found},
        longest={
            label: max(found, key=lambda run: run.end_s - run.start_s) for label, found in alarm_runs.items() if found
        },
        peak=_peak(decisions),
        delegated=sum(d.route is Route.DELEGATED for d in decisions),
        out_of_domain=sum(d.out_of_domain for d in decisions),
        own_baseline=own_baseline,
    )


def _peak(decisions: Sequence[Decision]) -> PeakSegment | None:
    scored = [(d.probabilities.get(label, 0.0), label, d) for d in decisions for label in ALARM_LABELS]
    if not scored:
        return None
    probability, label, d = max(scored, key=lambda item: item[0])
    return PeakSegment(
        clip_id=d.clip_id, start_s=d.start_s or 0.0, end_s=d.end_s or 0.0, label=label, probability=probability
    )


def smooth(decisions: Sequence[Decision], tau_s: float) -> list[Decision]:
    """Average each segment's probabilities with its speaker's neighbours, weighted by
    ``exp(-distance / tau_s)`` between segment centres (emotion persists over seconds); the
    label becomes the smoothed argmax. ``decisions`` are one speaker's, in time order."""
    if tau_s <= 0 or len(decisions) < 2:
        return list(decisions)
    labels = list(decisions[0].probabilities)
    probabilities = np.array([[d.probabilities.get(label, 0.0) for label in labels] for d in decisions])
    centres = np.array([(float(d.start_s or 0) + float(d.end_s or 0)) / 2 for d in decisions])
    weights = np.exp(-np.abs(centres[:, None] - centres[None, :]) / tau_s)
    smoothed = weights @ probabilities / weights.sum(axis=1, keepdims=True)
    return [_with_smoothed(d, dict(zip(labels, row.tolist())), tau_s) for d, row in zip(decisions, smoothed)]


def _with_smoothed(decision: Decision, probabilities: dict[str, float], tau_s: float) -> Decision:
    label = max(probabilities, key=probabilities.__getitem__)
    note = f"Smoothed with neighbouring segments (tau {tau_s:g} s)" + (
        f": {decision.label} → {label}." if label != decision.label else "."
    )
    return decision.model_copy(
        update={
            "probabilities": probabilities,
            "label": label,
            "confidence": probabilities[label],
            "rationale": f"{decision.rationale} {note}".strip(),
        }
    )
