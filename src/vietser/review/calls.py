"""Calls in the review app: the segment decisions `vietser predict --segments` wrote, a timeline per call,
and each segment's audio cut from its call.

``vietser review RUN --calls call.jsonl`` reads such a file: every segment ``Decision`` joins the run's
decisions (so the queue, the clip page and reviews treat it as any clip) and every ``call_summary`` line
names a call, its recording and its channels in channel order. A relative recording path is read as
predict wrote it, from the current directory, else from the folder of the JSON Lines file.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf
from pydantic import BaseModel, ValidationError

from vietser.calls.timeline import CallSummary
from vietser.decision import Decision, Route
from vietser.errors import ConfigError
from vietser.review.store import Review

SUMMARY_TYPE = "call_summary"


@dataclass(frozen=True)
class CallRecord:
    """One call: its summary, its recording (None when not found) and its segments' clip ids in time order."""

    summary: CallSummary
    audio: Path | None
    segments: tuple[str, ...]

    def channel_index(self, channel: str | None) -> int:
        """The recording's channel (0-based) a speaker's segments were cut from."""
        return [speaker.channel for speaker in self.summary.speakers].index(channel)


@dataclass(frozen=True)
class CallData:
    """The calls of one or more predict outputs and their segment decisions, by clip id."""

    calls: dict[str, CallRecord]
    decisions: dict[str, Decision]


def read_calls(paths: Sequence[Path]) -> CallData:
    """The calls in ``paths`` (JSON Lines of ``vietser predict --segments``).

    Raises:
        ConfigError: a file is missing, a line is neither a segment Decision, a call summary nor a skipped
            entry, a segment's call has no summary line, or two files hold the same call or segment.
    """
    calls: dict[str, CallRecord] = {}
    decisions: dict[str, Decision] = {}
    for path in paths:
        summaries, segments = _read_lines(Path(path))
        for summary in summaries:
            if summary.call_id in calls:
                raise ConfigError(
                    f"{path}: call {summary.call_id!r} is also in another --calls file; give each call once"
                )
            own = tuple(d.clip_id for d in segments if d.call_id == summary.call_id)
            calls[summary.call_id] = CallRecord(summary, _recording(summary.path, Path(path)), own)
        for decision in segments:
            if decision.call_id not in calls:
                raise ConfigError(
                    f"{path}: segment {decision.clip_id} belongs to call {decision.call_id!r}, which has no "
                    f"{SUMMARY_TYPE} line; give the whole output of `vietser predict --segments`"
                )
            if decision.clip_id in decisions:
                raise ConfigError(f"{path}: segment {decision.clip_id} appears twice; give each call once")
            decisions[decision.clip_id] = decision
    return CallData(calls, decisions)


def _read_lines(path: Path) -> tuple[list[CallSummary], list[Decision]]:
    if not path.is_file():
        raise ConfigError(f"{path} not found: write it with `vietser predict CALL.wav --run RUN --segments -o {path}`")
    summaries: list[CallSummary] = []
    segments: list[Decision] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if data.get("type") == SUMMARY_TYPE:
                summaries.append(CallSummary.model_validate(data))
            elif not data.get("skipped"):
                segments.append(_segment(Decision.model_validate(data)))
        except (ValueError, AttributeError) as exc:
            reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise ConfigError(
                f"{path}, line {number}: not a line of `vietser predict --segments` output ({reason})"
            ) from exc
    return summaries, segments


def _segment(decision: Decision) -> Decision:
    if decision.call_id is None or decision.start_s is None or decision.end_s is None:
        raise ValueError(f"{decision.clip_id} is a clip's Decision, not a segment of a call")
    return decision


def _recording(written: str, listing: Path) -> Path | None:
    path = Path(written)
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, listing.parent / path]
    return next((candidate.resolve() for candidate in candidates if candidate.is_file()), None)


class TimelineSegment(BaseModel):
    """One segment as the call page draws it, with its latest review (by anyone)."""

    clip_id: str
    channel: str
    start_s: float
    end_s: float
    label: str
    acoustic_label: str
    confidence: float
    reasoner: str
    delegated: bool
    out_of_domain: bool
    reviewed_label: str | None = None
    reviewer: str | None = None


class TimelineChannel(BaseModel):
    """One speaker of the call and their segments in time order."""

    channel: str
    silent: bool
    segments: list[TimelineSegment]


class CallTimeline(BaseModel):
    """What the call page and ``GET /api/calls/{call_id}`` show."""

    call_id: str
    path: str
    duration_s: float
    has_audio: bool
    notes: list[str]
    channels: list[TimelineChannel]


def call_timeline(record: CallRecord, decisions: dict[str, Decision], reviews: Iterable[Review]) -> CallTimeline:
    """The call's segments per channel, each with the latest review of it."""
    latest = {review.clip_id: review for review in reviews if review.clip_id in record.segments}
    segments = [_timeline_segment(decisions[clip_id], latest.get(clip_id)) for clip_id in record.segments]
    summary = record.summary
    return CallTimeline(
        call_id=summary.call_id,
        path=summary.path,
        duration_s=summary.duration_s,
        has_audio=record.audio is not None,
        notes=summary.notes,
        channels=[
            TimelineChannel(
                channel=speaker.channel,
                silent=speaker.silent,
                segments=sorted((s for s in segments if s.channel == speaker.channel), key=lambda s: s.start_s),
            )
            for speaker in summary.speakers
        ],
    )


def _timeline_segment(decision: Decision, review: Review | None) -> TimelineSegment:
    return TimelineSegment(
        clip_id=decision.clip_id,
        channel=decision.channel or "",
        start_s=decision.start_s or 0.0,
        end_s=decision.end_s or 0.0,
        label=decision.label,
        acoustic_label=decision.acoustic_label,
        confidence=decision.confidence,
        reasoner=decision.reasoner,
        delegated=decision.route == Route.DELEGATED,
        out_of_domain=decision.out_of_domain,
        reviewed_label=review.label if review else None,
        reviewer=review.reviewer if review else None,
    )


def segment_wav(audio: Path, channel: int, start_s: float, end_s: float, max_duration_s: float) -> bytes:
    """``channel`` (0-based) of ``audio`` from ``start_s`` to ``end_s`` (at most ``max_duration_s``), as WAV bytes."""
    rate = sf.info(str(audio)).samplerate
    start = int(start_s * rate)
    end = max(start, min(int(end_s * rate), start + int(max_duration_s * rate)))
    samples, _ = sf.read(str(audio), start=start, stop=end, dtype="int16", always_2d=True)
    buffer = io.BytesIO()
    sf.write(buffer, samples[:, channel], rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
