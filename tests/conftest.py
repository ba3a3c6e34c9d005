"""Shared fixtures: tiny generated audio and an isolated user cache."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf

ToneWriter = Callable[..., Path]


def make_voice_like(
    f0: float = 200.0,
    duration_s: float = 1.0,
    sample_rate: int = 16_000,
    amplitude: float = 0.3,
    seed: int = 0,
) -> np.ndarray:
    """A harmonic tone with slight vibrato and noise: enough for pitch and voice-quality analysis."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.002 * np.sin(2 * np.pi * 5 * t))) / sample_rate
    signal = sum(np.sin(k * phase) / k for k in range(1, 6))
    signal = signal / np.max(np.abs(signal)) * amplitude
    signal = signal + rng.normal(0, amplitude * 0.01, size=signal.shape)
    return signal.astype(np.float32)


@pytest.fixture
def write_tone(tmp_path: Path) -> ToneWriter:
    """Write a voice-like tone to a file under tmp_path and return its path."""

    def _write(
        name: str = "tone.wav",
        f0: float = 200.0,
        duration_s: float = 1.0,
        sample_rate: int = 16_000,
        amplitude: float = 0.3,
        seed: int = 0,
    ) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, make_voice_like(f0, duration_s, sample_rate, amplitude, seed), sample_rate)
        return path

    return _write


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point vietser's user cache at a temporary folder and unset any LLM endpoint."""
    cache = tmp_path_factory.mktemp("vietser-cache")
    monkeypatch.setenv("VIETSER_CACHE_DIR", str(cache))
    monkeypatch.delenv("VIETSER_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("VIETSER_LLM_MODEL", raising=False)
    monkeypatch.delenv("VIETSER_LLM_API_KEY", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return cache
