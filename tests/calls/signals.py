"""Generated call audio: speech-like syllable trains with known pauses, steady tones, noise."""

from __future__ import annotations

import numpy as np

SR = 16_000


def syllables(duration_s: float, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A harmonic voice whose pitch glides and whose level rises and falls 4 times a second, as syllables do."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * SR)) / SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t))) / SR
    voice = sum(np.sin(k * phase) / k for k in range(1, 15))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t + rng.uniform(0, 1)), 0, None) ** 0.7
    return (0.1 * voice * envelope).astype(np.float32)


def silence(duration_s: float) -> np.ndarray:
    return np.zeros(int(duration_s * SR), dtype=np.float32)


def held_notes(duration_s: float) -> np.ndarray:
    """Music-like: a harmonic note held for half a second, then the next one."""
    t = np.arange(int(duration_s * SR)) / SR
    notes = np.array([261.6, 329.6, 392.0, 523.3])[(t // 0.5).astype(int) % 4]
    phase = 2 * np.pi * np.cumsum(notes) / SR
    return (0.2 * sum(np.sin(k * phase) / k**2 for k in range(1, 6))).astype(np.float32)


def with_floor(signal: np.ndarray, seed: int = 0) -> np.ndarray:
    """Add a -60 dBFS noise floor, as any recording has."""
    return signal + np.random.default_rng(seed).normal(0, 1e-3, len(signal)).astype(np.float32)


def utterances(spans: list[tuple[float, float]], total_s: float, seed: int = 0) -> np.ndarray:
    """Syllable trains at the given (start, end) seconds in ``total_s`` of floor noise."""
    signal = silence(total_s)
    for index, (start, end) in enumerate(spans):
        part = syllables(end - start, f0=120.0 + 15 * index, seed=seed + index)
        signal[int(start * SR) : int(start * SR) + len(part)] = part
    return with_floor(signal, seed)


def pink_noise(duration_s: float, rms: float, seed: int = 0) -> np.ndarray:
    """1/f noise of the given RMS, as a line's hiss."""
    white = np.random.default_rng(seed).standard_normal(int(duration_s * SR))
    spectrum = np.fft.rfft(white) / np.sqrt(np.maximum(np.arange(len(white) // 2 + 1), 1.0))
    noise = np.fft.irfft(spectrum, n=len(white))
    return (rms * noise / noise.std()).astype(np.float32)


def vowels(duration_s: float, f0: float = 150.0, seed: int = 0) -> np.ndarray:
    """A voice with formants at 700, 1200 and 2500 Hz (energy where telephone speech has it), in syllables."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * SR)) / SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t))) / SR
    formants = [sum(1 / (1 + ((k * f0 - f) / 90) ** 2) for f in (700, 1200, 2500)) for k in range(1, 25)]
    voice = sum(a * np.sin(k * phase) for k, a in enumerate(formants, start=1))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t + rng.uniform(0, 1)), 0, None) ** 0.7
    return (0.1 * voice / voice.std() * envelope).astype(np.float32)
