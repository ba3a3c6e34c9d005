"""Property: whatever a wav file holds, loading and extracting gives finite features or a clear error."""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from vietser.data.audio import load_audio
from vietser.errors import AudioError, FeatureError
from vietser.features.smile import extract_smile, smile_columns
from vietser.features.prosody import COLUMNS as PROSODY_COLUMNS
from vietser.features.prosody import extract_prosody

SAMPLE_RATES = (8000, 16000, 22050, 44100, 96000)
COMPONENTS = ("noise", "tone", "voice", "impulses", "dc")


@dataclass(frozen=True)
class Signal:
    """A recipe for a random test signal; drawn by hypothesis, rendered with numpy."""

    sample_rate: int
    duration_s: float
    amplitude: float
    components: tuple[str, ...]
    nan_fraction: float
    subtype: str
    seed: int

    def render(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        n = max(1, int(self.duration_s * self.sample_rate))
        t = np.arange(n) / self.sample_rate
        f0 = rng.uniform(60, 700)
        parts = {
            "noise": lambda: rng.normal(0, 1, n),
            "tone": lambda: np.sin(2 * np.pi * rng.uniform(20, 0.45 * self.sample_rate) * t),
            "voice": lambda: sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6)),
            "impulses": lambda: (rng.random(n) < rng.uniform(1e-4, 1e-2)) * rng.choice([-1.0, 1.0], n),
            "dc": lambda: np.full(n, rng.uniform(-1, 1)),
        }
        signal = sum((parts[name]() for name in self.components), np.zeros(n))
        peak = float(np.max(np.abs(signal)))
        signal = signal / peak * self.amplitude if peak > 0 else signal
        if self.nan_fraction:
            signal[rng.random(n) < self.nan_fraction] = np.nan
        return signal.astype(np.float32)


signals = st.builds(
    Signal,
    sample_rate=st.sampled_from(SAMPLE_RATES),
    # sampled_from draws evenly (hypothesis' numbers crowd at the bounds); 12 of 60 are below 0.3 s.
    duration_s=st.sampled_from([round(0.05 * k, 2) for k in range(1, 61)]),
    # From far below the silence floor to heavy clipping (float wav keeps values above 1).
    amplitude=st.sampled_from((1e-6, 4e-4, 0.01, 0.3, 1.0, 1.5, 20.0)),
    components=st.lists(st.sampled_from(COMPONENTS), min_size=0, max_size=3, unique=True).map(tuple),
    nan_fraction=st.sampled_from((0.0, 0.0, 0.0, 1e-3, 0.2)),
    subtype=st.sampled_from(("FLOAT", "PCM_16")),
    seed=st.integers(0, 2**32 - 1),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signal=signals)
@example(signal=Signal(44100, 1.0, 0.5, ("voice", "noise"), 0.0, "PCM_16", seed=0)).via("clean voice: features")
@example(signal=Signal(16000, 1.0, 0.5, ("voice",), 0.01, "FLOAT", seed=0)).via("NaN samples: error")
def test_any_wav_gives_finite_features_or_an_error_naming_the_file(signal: Signal) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.wav"
        sf.write(path, signal.render(), signal.sample_rate, subtype=signal.subtype)
        try:
            audio = load_audio(path)
            values = {**extract_smile("egemaps", audio), **extract_prosody(audio)}
        except (AudioError, FeatureError) as exc:
            event(type(exc).__name__)
            assert str(path) in str(exc)
            assert exc.path == str(path)
            return
    event("finite features")
    assert list(values) == [*smile_columns("egemaps"), *PROSODY_COLUMNS]
    assert all(math.isfinite(value) for value in values.values())
