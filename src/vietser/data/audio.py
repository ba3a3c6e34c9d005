"""Audio loading: any common format to validated 16 kHz mono float32."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from vietser.errors import (
    CorruptAudioError,
    EmptyAudioError,
    SilentAudioError,
    TooLongAudioError,
    TooShortAudioError,
)

SAMPLE_RATE = 16_000
MIN_DURATION_S = 0.3
# Emotion is classified per utterance; a longer recording (a whole call) must be segmented first.
MAX_DURATION_S = 600.0
# Peak below this (about -66 dBFS) is treated as silence: no speech to analyse.
SILENCE_PEAK = 5e-4
# The formats vietser reads, by file suffix, with their media type.
AUDIO_MEDIA_TYPES: dict[str, str] = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
AUDIO_SUFFIXES: frozenset[str] = frozenset(AUDIO_MEDIA_TYPES)


@dataclass(frozen=True)
class Audio:
    """A validated mono signal."""

    samples: np.ndarray
    sample_rate: int
    path: str

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def load_audio(
    path: str | Path,
    sample_rate: int = SAMPLE_RATE,
    min_duration_s: float = MIN_DURATION_S,
    max_duration_s: float = MAX_DURATION_S,
) -> Audio:
    """Read wav/flac/ogg/mp3, mix to mono, resample with soxr and validate.

    Raises:
        CorruptAudioError: the file cannot be decoded or holds non-finite samples.
        EmptyAudioError: the file decodes to zero samples.
        TooShortAudioError: shorter than ``min_duration_s``.
        TooLongAudioError: longer than ``max_duration_s`` (checked from the header, before decoding).
        SilentAudioError: no sample above the silence floor.
    """
    path = Path(path)
    try:
        info = sf.info(str(path))
        if info.samplerate > 0 and info.frames / info.samplerate > max_duration_s:
            raise TooLongAudioError(
                path,
                f"{info.frames / info.samplerate:.0f} s, at most {max_duration_s:.0f} s; "
                "split long recordings into utterances first",
            )
        data, native_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as exc:
        raise CorruptAudioError(path, str(exc).strip() or type(exc).__name__) from exc
    if data.size == 0:
        raise EmptyAudioError(path)
    samples = data.mean(axis=1)
    if not np.all(np.isfinite(samples)):
        raise CorruptAudioError(path, "contains NaN or infinite samples")
    if native_rate != sample_rate:
        samples = soxr.resample(samples, native_rate, sample_rate, quality="HQ").astype(np.float32)
    duration = len(samples) / sample_rate
    if duration < min_duration_s:
        raise TooShortAudioError(path, f"{duration:.3f} s, need at least {min_duration_s} s")
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise SilentAudioError(path, f"peak below {20 * np.log10(SILENCE_PEAK):.0f} dBFS")
    return Audio(samples=np.ascontiguousarray(samples, dtype=np.float32), sample_rate=sample_rate, path=str(path))


def file_sha256(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Content hash of a file: the key of every per-clip cache."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
