"""Decide a whole call: cut each channel into segments, decide each segment as a clip, summarise.

A stereo file is two speakers (one per channel, e.g. ``agent`` / ``caller``),
a mono file one. Each speaker's segments are decided together as that
speaker's clips, so once a speaker has ``min_clips_per_speaker`` segments
(the run's setting) they are read against their own baseline from this call,
not the training corpus; a long call is decided in batches of 32–63 of a
speaker's segments, each read against its own batch (a few minutes of that
speaker). The recording is read in blocks and each segment is written to a
temporary WAV as it closes, so memory stays bounded however long the call.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import soundfile as sf
from pydantic import BaseModel, ConfigDict, Field

from vietser.calls.reader import iter_blocks, recording_info
from vietser.calls.segment import Segment, SegmentationConfig, Segmenter
from vietser.calls.timeline import (
    CallSummary,
    SpeakerSummary,
    smooth,
    summarize_speaker,
)
from vietser.data.audio import SAMPLE_RATE, SILENCE_PEAK
from vietser.decision import Decision
from vietser.errors import ConfigError

if TYPE_CHECKING:
    from vietser.features.raw import SkippedClip
    from vietser.run.predict import Predictor

SILENT_DBFS = 20 * math.log10(SILENCE_PEAK)
# Segments of one speaker decided together (32-63 a batch): their own baseline, and the bound on memory.
BATCH_SEGMENTS = 32


class CallConfig(BaseModel):
    """How a call is cut, named and smoothed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    segmentation: SegmentationConfig = SegmentationConfig()
    channel_names: tuple[str, ...] | None = Field(
        default=None, description="one name per channel, e.g. ('agent', 'caller')"
    )
    smoothing_s: float = Field(default=0.0, ge=0, description="neighbour smoothing time constant; 0 is off")


@dataclass
class ChannelCut:
    """The segments of one channel, written as WAV files, and what its audio was like."""

    name: str
    files: list[Path] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    peak_dbfs: float = float("-inf")
    speech_s: float = 0.0


@dataclass
class CallResult:
    """Every segment's Decision (speaker by speaker, in time order) and the call's summary."""

    decisions: list[Decision]
    summary: CallSummary
    skipped: list[SkippedClip]


def channel_names(channels: int, names: tuple[str, ...] | None) -> tuple[str, ...]:
    """The speaker name of each channel: ``names`` or ``mono`` / ``left``, ``right`` / ``channel_<n>``.

    Raises:
        ConfigError: ``names`` does not give one distinct name per channel.
    """
    if names is None:
        return (
            ("mono",)
            if channels == 1
            else ("left", "right")
            if channels == 2
            else tuple(f"channel_{i + 1}" for i in range(channels))
        )
    if len(names) != channels or len(set(names)) != len(names):
        raise ConfigError(
            f"the file has {channels} channel(s) but {len(names)} distinct name(s) were given ({','.join(names)}); give one name per channel"
        )
    return names


def cut_call(path: Path, workdir: Path, config: CallConfig = CallConfig()) -> list[ChannelCut]:
    """Segment every channel of ``path`` in one streaming pass; segments go to ``workdir`` as WAV."""
    names = channel_names(recording_info(path).channels, config.channel_names)
    segmenters = [Segmenter(config.segmentation) for _ in names]
    cuts = [ChannelCut(name) for name in names]

    def keep(cut: ChannelCut, segments: list[Segment]) -> None:
        for segment in segments:
            file = workdir / f"{cut.name}-{len(cut.files):05d}.wav"
            sf.write(file, segment.samples, SAMPLE_RATE, subtype="PCM_16")
            cut.files.append(file)
            cut.spans.append((segment.start_s, segment.end_s))
            cut.speech_s += segment.speech_s

    for block in iter_blocks(path):
        for index, (cut, segmenter) in enumerate(zip(cuts, segmenters)):
            keep(cut, segmenter.feed(block[:, index]))
    for cut, segmenter in zip(cuts, segmenters):
        keep(cut, segmenter.flush())
        cut.peak_dbfs = segmenter.peak_dbfs
    return cuts


def decide_call(
    predictor: Predictor, path: str | Path, config: CallConfig = CallConfig(), jobs: int = 1, call_id: str | None = None
) -> CallResult:
    """Cut ``path`` into segments and decide each one with ``predictor``.

    Raises:
        AudioError: the file cannot be read as audio.
        ConfigError: ``config.channel_names`` does not fit the file's channels.
    """
    path = Path(path)
    call_id = call_id or path.stem
    with tempfile.TemporaryDirectory(prefix="vietser-call-") as workdir:
        cuts = cut_call(path, Path(workdir), config)
        manifest = segment_manifest(cuts, call_id)
        decisions, skipped = decide_segments(predictor, manifest, jobs)
    decided = {d.clip_id: d for d in decisions}
    rows = manifest.set_index("clip_id")
    by_speaker: list[Decision] = []
    summaries: list[SpeakerSummary] = []
    for cut in cuts:
        own = [
            _placed(decided[clip], rows.loc[clip], call_id, str(path))
            for clip in rows.index[rows["channel"] == cut.name]
            if clip in decided
        ]
        own = smooth(own, config.smoothing_s)
        by_speaker += own
        silent = cut.peak_dbfs < SILENT_DBFS
        summaries.append(
            summarize_speaker(cut.name, own, silent, cut.speech_s, len(own) >= predictor.config.min_clips_per_speaker)
        )
    summary = CallSummary(
        call_id=call_id,
        path=str(path),
        duration_s=round(recording_info(path).duration_s, 3),
        smoothing_s=config.smoothing_s,
        speakers=summaries,
        skipped=len(skipped),
        notes=call_notes(cuts, summaries),
    )
    return CallResult(by_speaker, summary, skipped)


def decide_segments(
    predictor: Predictor, manifest: pd.DataFrame, jobs: int = 1
) -> tuple[list[Decision], list[SkippedClip]]:
    """Decide each speaker's segments in time-ordered batches of about :data:`BATCH_SEGMENTS`: each
    batch is read against its own segments (a baseline over a few minutes of that speaker), and
    memory stays bounded however many segments a call has."""
    decisions: list[Decision] = []
    skipped: list[SkippedClip] = []
    for _, rows in manifest.groupby("speaker", sort=False):
        for batch in np.array_split(np.arange(len(rows)), max(1, len(rows) // BATCH_SEGMENTS)):
            result = predictor.predict_manifest(rows.iloc[batch], jobs)
            decisions += result.decisions
            skipped += result.skipped
    return decisions, skipped


def segment_manifest(cuts: list[ChannelCut], call_id: str) -> pd.DataFrame:
    """One row per segment file: the speaker is the call's channel, so it gets its own baseline."""
    rows = [
        {
            "clip_id": f"{call_id}/{cut.name}/{start:09.3f}",
            "path": str(file),
            "speaker": f"{call_id}/{cut.name}",
            "channel": cut.name,
            "start_s": start,
            "end_s": end,
        }
        for cut in cuts
        for file, (start, end) in zip(cut.files, cut.spans)
    ]
    return pd.DataFrame(rows, columns=["clip_id", "path", "speaker", "channel", "start_s", "end_s"])


def _placed(decision: Decision, row: pd.Series, call_id: str, path: str) -> Decision:
    return decision.model_copy(
        update={
            "call_id": call_id,
            "channel": row["channel"],
            "start_s": float(row["start_s"]),
            "end_s": float(row["end_s"]),
            "path": path,
        }
    )


def call_notes(cuts: list[ChannelCut], summaries: list[SpeakerSummary]) -> list[str]:
    """What a reader must know: silent channels, channels without speech, an empty timeline."""
    notes = []
    for cut, summary in zip(cuts, summaries):
        if summary.silent:
            notes.append(f"channel '{cut.name}' is silent (peak {cut.peak_dbfs:.0f} dBFS): nobody speaks on it")
        elif not cut.files:
            notes.append(
                f"channel '{cut.name}' has sound (peak {cut.peak_dbfs:.0f} dBFS) but no speech: music, tones or noise only"
            )
        elif not summary.segments:
            notes.append(
                f"channel '{cut.name}': {len(cut.files)} segment(s) found but none had voiced speech to analyse"
            )
    if not any(summary.segments for summary in summaries):
        notes.append("no speech segment could be decided: the timeline is empty")
    return notes
