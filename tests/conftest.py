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


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic demo corpus (6 speakers: 4 train, 1 dev, 1 test); returns its manifest path."""
    from vietser.data.demo import make_demo_corpus

    corpus = make_demo_corpus(tmp_path_factory.mktemp("demo"), n_speakers=6, clips_per_speaker=12, seed=3)
    return corpus.manifest_path


@pytest.fixture(scope="session")
def small_demo_features(small_demo: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - DataFrame
    """Features of :func:`small_demo`, extracted once per session into their own cache."""
    from vietser.data.manifest import load_manifest
    from vietser.features.extract import extract_features

    result = extract_features(load_manifest(small_demo), cache_dir=tmp_path_factory.mktemp("feature-cache"))
    assert not result.skipped
    return result.frame


def small_run_config(**overrides: object):  # noqa: ANN201 - RunConfig
    """A RunConfig sized for the small corpus: 2 speaker folds, few bootstrap resamples."""
    from vietser.config import load_config

    return load_config(acoustic__cv_folds=2, n_bootstrap=200, **overrides)


@pytest.fixture(scope="session")
def trained_run(small_demo_features, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ANN001
    """A run directory trained and evaluated with the rule engine (do not modify; copy it)."""
    from vietser.run.evaluate import evaluate_run
    from vietser.run.train import train_run

    run_dir = tmp_path_factory.mktemp("run") / "run"
    train_run(small_demo_features, small_run_config(), run_dir)
    evaluate_run(run_dir)
    return run_dir
