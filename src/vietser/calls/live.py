"""A live call: PCM chunks in, a segment Decision out as each segment closes, alerts when it persists.

:class:`LiveCall` keeps, per channel, a :class:`~vietser.calls.segment.Segmenter`
and the last ``baseline_segments`` segments as small WAV files; each closed
segment is decided together with those, so the speaker's baseline comes from
their own recent speech once there are ``min_clips_per_speaker`` of them
(earlier segments are read against the training corpus), and their features
come from the feature cache. Memory per stream is bounded by the open segment
and that window. An :class:`Alert` is raised once per stretch when angry or
panic segments of one channel have lasted ``alert_after_s``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import soundfile as sf
from pydantic import BaseModel, ConfigDict

from vietser.calls.call import CallConfig, channel_names
from vietser.calls.segment import Segment, Segmenter
from vietser.calls.timeline import ALARM_LABELS
from vietser.data.audio import SAMPLE_RATE
from vietser.decision import Decision

if TYPE_CHECKING:
    from vietser.run.predict import Predictor

BASELINE_SEGMENTS = 20


class Alert(BaseModel):
    """Angry or panic has persisted on a channel past the threshold."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["alert"] = "alert"
    call_id: str
    channel: str
    label: str
    since_s: float
    until_s: float
    segments: int


@dataclass
class _Channel:
    name: str
    segmenter: Segmenter
    window: deque[dict]
    stretch: tuple[str, float, int] | None = None  # label, start, segments
    alerted: bool = False
    count: int = 0


class LiveCall:
    """One live call's state (see the module docstring); call :meth:`close` (or use ``with``) at its end."""

    def __init__(
        self,
        predictor: Predictor,
        call_id: str,
        channels: int = 1,
        config: CallConfig = CallConfig(),
        alert_after_s: float = 10.0,
        baseline_segments: int = BASELINE_SEGMENTS,
    ) -> None:
        self.predictor = predictor
        self.call_id = call_id
        self.config = config
        self.alert_after_s = alert_after_s
        self._dir = Path(tempfile.mkdtemp(prefix="vietser-live-"))
        self._channels = [
            _Channel(name, Segmenter(config.segmentation), deque(maxlen=baseline_segments))
            for name in channel_names(channels, config.channel_names)
        ]

    def feed(self, samples: np.ndarray) -> list[Decision | Alert]:
        """The next 16 kHz samples, shape (n,) for mono or (n, channels); returns what they closed."""
        block = samples if samples.ndim == 2 else samples[:, None]
        if not len(block):
            return []
        return [
            event
            for index, channel in enumerate(self._channels)
            for segment in channel.segmenter.feed(block[:, index])
            for event in self._decide(channel, segment)
        ]

    def finish(self) -> list[Decision | Alert]:
        """End of the call: the open segments."""
        return [
            event
            for channel in self._channels
            for segment in channel.segmenter.flush()
            for event in self._decide(channel, segment)
        ]

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> LiveCall:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _decide(self, channel: _Channel, segment: Segment) -> list[Decision | Alert]:
        if len(channel.window) == channel.window.maxlen:
            Path(channel.window[0]["path"]).unlink(missing_ok=True)
        path = self._dir / f"{channel.name}-{channel.count:06d}.wav"
        channel.count += 1
        sf.write(path, segment.samples, SAMPLE_RATE, subtype="PCM_16")
        row = {
            "clip_id": f"{self.call_id}/{channel.name}/{segment.start_s:09.3f}",
            "path": str(path),
            "speaker": f"{self.call_id}/{channel.name}",
        }
        channel.window.append(row)
        result = self.predictor.predict_manifest(pd.DataFrame(list(channel.window)))
        decision = next((d for d in result.decisions if d.clip_id == row["clip_id"]), None)
        if decision is None:
            return []
        decision = decision.model_copy(
            update={
                "call_id": self.call_id,
                "channel": channel.name,
                "start_s": segment.start_s,
                "end_s": segment.end_s,
                "path": None,
            }
        )
        alert = self._alert(channel, decision)
        return [decision] if alert is None else [decision, alert]

    def _alert(self, channel: _Channel, decision: Decision) -> Alert | None:
        start, end = float(decision.start_s or 0), float(decision.end_s or 0)
        if decision.label not in ALARM_LABELS:
            channel.stretch, channel.alerted = None, False
            return None
        if channel.stretch is None or channel.stretch[0] != decision.label:
            channel.stretch, channel.alerted = (decision.label, start, 0), False
        label, since, segments = channel.stretch
        channel.stretch = (label, since, segments + 1)
        if channel.alerted or end - since < self.alert_after_s:
            return None
        channel.alerted = True
        return Alert(
            call_id=self.call_id, channel=channel.name, label=label, since_s=since, until_s=end, segments=segments + 1
        )
