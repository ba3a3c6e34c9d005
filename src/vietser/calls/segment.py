"""Speech segments of a long signal, found frame by frame in bounded memory.

:class:`Segmenter` takes consecutive blocks of one channel (16 kHz float32)
and returns each :class:`Segment` as soon as it closes: a run of speech frames
whose inner pauses are shorter than ``merge_gap_s``, padded by ``pad_s``,
kept when it holds at least ``min_speech_s`` of speech and its level moves
as syllables make it move (``min_dynamics_db``: clean speech in RAVDESS,
EmoDB and the Vietnamese clips varies by 7–15 dB, quiet speech in 20 dB
noise by 2 dB and more, white noise by 0.5 dB, a held note by 0.1 dB;
WebRTC's VAD alone calls both speech), and cut at its
quietest pause once it reaches ``max_segment_s`` (a long turn becomes several
utterances). It holds only the open segment and a few frames before it, so a
two-hour file costs no more memory than a ten-second one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vietser.calls.vad import FRAME_S, FRAME_SAMPLES, FrameVad, VadBackend, frame_dbfs
from vietser.data.audio import SAMPLE_RATE


class SegmentationConfig(BaseModel):
    """How a recording is cut into utterances."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vad: VadBackend = VadBackend.WEBRTC
    aggressiveness: int = Field(
        default=0, ge=0, le=3, description="WebRTC VAD mode: 0 keeps quiet speech, 3 rejects most noise"
    )
    min_speech_s: float = Field(default=0.4, gt=0, description="a segment with less speech than this is dropped")
    merge_gap_s: float = Field(default=0.5, gt=0, description="pauses shorter than this stay inside a segment")
    max_segment_s: float = Field(default=8.0, gt=1, description="a longer turn is cut at its quietest pause")
    pad_s: float = Field(default=0.09, ge=0, description="audio kept before and after the speech frames")
    min_dbfs: float = Field(
        default=-55.0,
        description="frames below this level are never speech (for webrtc, after the gain that brings the "
        "channel's speech to -23 dBFS)",
    )
    likelihood_threshold: float | None = Field(
        default=0.5,
        gt=0,
        description="a frame is also speech when its spectrum's mean log-likelihood ratio against the channel's "
        "noise spectrum (over 3 frames) exceeds this; None: the VAD backend alone",
    )
    min_dynamics_db: float = Field(
        default=1.0,
        ge=0,
        description="a segment whose 10 ms levels vary less than this (standard deviation, dB) is steady "
        "noise or held tones, not speech, and is dropped",
    )

    @model_validator(mode="after")
    def _lengths_fit(self) -> SegmentationConfig:
        if self.min_speech_s >= self.max_segment_s:
            raise ValueError(f"min_speech_s ({self.min_speech_s}) must be below max_segment_s ({self.max_segment_s})")
        return self


@dataclass(frozen=True)
class Segment:
    """One utterance of one channel: where it lies in the recording and its samples (16 kHz)."""

    start_s: float
    end_s: float
    speech_s: float
    samples: np.ndarray


@dataclass
class _Open:
    start: int  # first speech frame
    last: int  # last speech frame
    speech: int  # speech frames so far
    padded: bool = True  # False for the rest of a split turn: it starts where the first part ended


class Segmenter:
    """Cuts one channel into :class:`Segment` objects as its blocks arrive (see the module docstring)."""

    def __init__(self, config: SegmentationConfig = SegmentationConfig()) -> None:
        self.config = config
        self._vad = FrameVad(
            config.vad,
            config.aggressiveness,
            min_dbfs=config.min_dbfs,
            likelihood_threshold=config.likelihood_threshold,
        )
        self._gap = max(1, round(config.merge_gap_s / FRAME_S))
        self._pad = round(config.pad_s / FRAME_S)
        self._max = round(config.max_segment_s / FRAME_S)
        self._min = round(config.min_speech_s / FRAME_S)
        self._tail = np.zeros(0, dtype=np.float32)  # samples not yet a whole frame
        self._frames = 0  # frames seen
        self._open: _Open | None = None
        self._kept_from = 0  # first frame held in _audio / _levels / _speech
        self._audio = np.zeros(0, dtype=np.float32)
        self._levels = np.zeros(0)
        self._speech = np.zeros(0, dtype=bool)
        self.peak_dbfs = -np.inf
        self.speech_frames = 0
        self.rejected = 0  # segments dropped as steady sound, not speech

    def feed(self, block: np.ndarray) -> list[Segment]:
        """Add the next samples of the channel; returns the segments that closed."""
        samples = np.concatenate([self._tail, np.asarray(block, dtype=np.float32)])
        whole = len(samples) // FRAME_SAMPLES * FRAME_SAMPLES
        self._tail = samples[whole:]
        if whole == 0:
            return []
        samples = samples[:whole]
        speech, levels = self._vad(samples), frame_dbfs(samples)
        self.peak_dbfs = max(self.peak_dbfs, float(levels.max()))
        self.speech_frames += int(speech.sum())
        self._audio = np.concatenate([self._audio, samples])
        self._levels = np.concatenate([self._levels, levels])
        self._speech = np.concatenate([self._speech, speech])
        closed = [
            segment for frame in range(self._frames, self._frames + len(speech)) if (segment := self._step(frame))
        ]
        self._frames += len(speech)
        self._forget()
        return closed

    def flush(self) -> list[Segment]:
        """End of the channel: the open segment, if long enough."""
        if self._open is None:
            return []
        segment = self._close(self._open, self._open.last + 1)
        self._open = None
        return [segment] if segment else []

    def _step(self, frame: int) -> Segment | None:
        is_speech = self._speech[frame - self._kept_from]
        current = self._open
        if current is None:
            if is_speech:
                self._open = _Open(frame, frame, 1)
            return None
        if is_speech:
            current.last, current.speech = frame, current.speech + 1
            if frame - current.start + 1 >= self._max:
                return self._split(current)
            return None
        if frame - current.last >= self._gap:
            self._open = None
            return self._close(current, current.last + 1)
        return None

    def _split(self, current: _Open) -> Segment | None:
        """Cut an over-long segment at the quietest frame of its second half; the rest stays open."""
        first = current.start + self._max // 2
        levels = self._levels[first - self._kept_from : current.last - self._kept_from]
        cut = first + int(np.argmin(levels)) if len(levels) else current.last
        speech = int(self._speech[current.start - self._kept_from : cut - self._kept_from].sum())
        head = _Open(current.start, cut - 1, speech, padded=current.padded)
        self._open = _Open(cut, current.last, max(1, current.speech - head.speech), padded=False)
        return self._close(head, cut, pad_end=False)

    def _close(self, current: _Open, end: int, pad_end: bool = True) -> Segment | None:
        if current.speech < self._min:
            return None
        start = max(self._kept_from, current.start - (self._pad if current.padded else 0))
        end = min(end + (self._pad if pad_end else 0), self._kept_from + len(self._speech))
        samples = self._audio[(start - self._kept_from) * FRAME_SAMPLES : (end - self._kept_from) * FRAME_SAMPLES]
        if level_dynamics_db(samples) < self.config.min_dynamics_db:
            self.rejected += 1
            return None
        return Segment(
            round(start * FRAME_S, 3), round(end * FRAME_S, 3), round(current.speech * FRAME_S, 3), samples.copy()
        )

    def _forget(self) -> None:
        """Drop frames no open or future segment can reach (all but the pre-roll of the next one)."""
        keep_from = (self._open.start if self._open is not None else self._frames) - self._pad
        drop = max(0, keep_from - self._kept_from)
        if drop:
            self._audio = self._audio[drop * FRAME_SAMPLES :]
            self._levels = self._levels[drop:]
            self._speech = self._speech[drop:]
            self._kept_from += drop


def level_dynamics_db(samples: np.ndarray, floor_db: float = 40.0) -> float:
    """Standard deviation of the 10 ms levels of ``samples`` (dB, floored ``floor_db`` below their peak)."""
    step = SAMPLE_RATE // 100
    frames = samples[: len(samples) // step * step].reshape(-1, step)
    if len(frames) < 2:
        return 0.0
    levels = 10 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-10)
    return float(np.maximum(levels, levels.max() - floor_db).std())


def segment_signal(
    samples: np.ndarray, config: SegmentationConfig = SegmentationConfig(), block_s: float = 10.0
) -> Iterator[Segment]:
    """Every segment of a whole 16 kHz signal, fed in blocks as a stream would be."""
    segmenter = Segmenter(config)
    step = int(block_s * SAMPLE_RATE)
    for offset in range(0, len(samples), step):
        yield from segmenter.feed(samples[offset : offset + step])
    yield from segmenter.flush()
