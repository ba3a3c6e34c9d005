"""A recording read block by block: each channel as 16 kHz float32, never the whole file at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from vietser.data.audio import SAMPLE_RATE
from vietser.errors import CorruptAudioError, EmptyAudioError

BLOCK_S = 10.0


@dataclass(frozen=True)
class RecordingInfo:
    """What the header says: channels, native rate and length."""

    path: str
    channels: int
    sample_rate: int
    duration_s: float


def recording_info(path: str | Path) -> RecordingInfo:
    """The header of ``path``.

    Raises:
        CorruptAudioError: the file cannot be opened as audio.
        EmptyAudioError: it holds no samples.
    """
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise CorruptAudioError(path, str(exc).strip() or type(exc).__name__) from exc
    if info.frames == 0 or info.samplerate <= 0:
        raise EmptyAudioError(path)
    return RecordingInfo(str(path), info.channels, info.samplerate, info.frames / info.samplerate)


def iter_blocks(path: str | Path, block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
    """Blocks of shape (samples, channels) at 16 kHz, resampled as a stream (soxr), in file order.

    Raises:
        CorruptAudioError: the file cannot be decoded, or holds NaN or infinite samples.
    """
    info = recording_info(path)
    resampler = (
        None
        if info.sample_rate == SAMPLE_RATE
        else soxr.ResampleStream(info.sample_rate, SAMPLE_RATE, info.channels, dtype="float32")
    )
    frames = max(1, int(block_s * info.sample_rate))
    try:
        for block in sf.blocks(str(path), blocksize=frames, dtype="float32", always_2d=True):
            if not np.all(np.isfinite(block)):
                raise CorruptAudioError(path, "contains NaN or infinite samples")
            yield block if resampler is None else resampler.resample_chunk(block)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise CorruptAudioError(path, str(exc).strip() or type(exc).__name__) from exc
    if resampler is not None:
        yield resampler.resample_chunk(np.zeros((0, info.channels), dtype=np.float32), last=True)
