"""Rendering of the synthetic demo corpus: from a sentence and a few numbers to samples.

:func:`render_clip` speaks a sentence with espeak-ng (:mod:`vietser.data.espeak`)
phrase by phrase, changes the voice (:class:`Expression`: pitch, contour, rate,
pauses, effort, tension, breathiness, tremor) and passes it through a channel
(:class:`Channel`: handset gain, background noise, narrow-band phone line).
:mod:`vietser.data.demo` decides the numbers; this module only renders them.
Randomness comes only from ``seed``, so the same arguments in a process with the
same espeak-ng history give the same samples.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import soxr

from vietser.data.espeak import synthesize

SAMPLE_RATE = 16_000


class Voice(NamedTuple):
    """A speaker's baseline: espeak-ng voice and settings, and usual level."""

    name: str  # espeak-ng voice with variant, e.g. "vi+f2"
    pitch: float  # espeak pitch, 0–99
    pitch_range: float  # espeak pitch range, 0–99
    rate: float  # words per minute
    volume: int  # espeak volume, 0–200
    level_db: float  # usual active speech level, dB re full scale


class Expression(NamedTuple):
    """How far one clip departs from its speaker's calm baseline, cue by cue."""

    pitch_shift: float  # espeak pitch units added to the speaker's pitch
    range_add: float  # espeak pitch-range units added to 0.8 x the speaker's range
    slope: float  # pitch units from first to last phrase, on top of declination; > 0 rises
    rate_gain: float  # relative speaking-rate increase
    rate_jitter: float  # SD of the relative rate change from phrase to phrase
    gain_db: float  # vocal effort: level above the speaker's usual
    tension: float  # pressed voice, 0–1
    breath: float  # breathy noise, 0–1
    tremor: float  # tremor and jitter, 0–1
    hurry: float  # short irregular pauses instead of regular ones, 0–1


class Channel(NamedTuple):
    """What happens to one clip between the caller's mouth and the file."""

    phone: bool  # narrow-band phone line (300–3400 Hz)
    snr_db: float  # background noise level below the speaker's usual level
    gain_db: float  # distance to the microphone, handset gain


def render_clip(text: str, voice: Voice, expression: Expression, channel: Channel, seed: list[int]) -> np.ndarray:
    """Speak, change the voice, set the level, then pass through the channel: 16 kHz float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    speech = _speak_phrases(text, voice, expression, rng)
    speech = _tremble(_tense(speech, expression.tension), expression.tremor, rng)
    speech = _breathe(speech, expression.breath, rng)
    speech *= 10 ** ((voice.level_db + expression.gain_db + channel.gain_db) / 20) / _active_rms(speech)
    pad = [int(rng.uniform(0.15, 0.4) * SAMPLE_RATE) for _ in range(2)]
    signal = np.concatenate([np.zeros(pad[0]), speech, np.zeros(pad[1])])
    signal += _background_noise(len(signal), rng) * 10 ** ((voice.level_db - channel.snr_db) / 20)
    if channel.phone:
        signal = _phone_band(signal)
    return np.clip(signal, -1.0, 1.0).astype(np.float32)


def _speak_phrases(text: str, voice: Voice, expression: Expression, rng: np.random.Generator) -> np.ndarray:
    """Synthesise phrase by phrase along the clip's contour, with its pauses between phrases."""
    base_pitch = voice.pitch + expression.pitch_shift + rng.normal(0, 2.0)
    slope = -3.0 + expression.slope  # -3: the mild declination of any statement
    pitch_range = int(np.clip(0.8 * voice.pitch_range + expression.range_add, 0, 99))
    phrases = _phrases(text)
    pieces = []
    for n, (phrase, after_comma) in enumerate(phrases):
        position = n / (len(phrases) - 1) - 0.5 if len(phrases) > 1 else 0.0
        rate_change = expression.rate_gain + rng.normal(0, 0.03 + expression.rate_jitter)
        samples, native_rate = synthesize(
            phrase,
            voice=voice.name,
            rate=int(np.clip(voice.rate * (1 + rate_change), 80, 450)),
            pitch=int(np.clip(base_pitch + slope * position, 0, 99)),
            pitch_range=pitch_range,
            volume=voice.volume,
            seed=int(rng.integers(2**31)),
        )
        if n:
            pieces.append(np.zeros(int(_pause_s(expression.hurry, after_comma, rng) * native_rate)))
        pieces.append(_trim_silence(samples))
    speech = soxr.resample(np.concatenate(pieces), native_rate, SAMPLE_RATE, quality="HQ")
    return speech.astype(np.float64)


def _phrases(sentence: str) -> list[tuple[str, bool]]:
    """Split at commas, and long phrases in two; flag phrases that follow a comma."""
    phrases = []
    for n, part in enumerate(sentence.split(",")):
        words = part.split()
        halves = [words[: len(words) // 2], words[len(words) // 2 :]] if len(words) > 6 else [words]
        phrases += [(" ".join(half), n > 0 and h == 0) for h, half in enumerate(halves)]
    return phrases


def _pause_s(hurry: float, after_comma: bool, rng: np.random.Generator) -> float:
    """A regular pause (longer at a comma), pulled towards a short or irregular one by ``hurry``."""
    regular = rng.uniform(0.12, 0.2) if after_comma else 0.03
    irregular = 0.03 + rng.uniform(0, 0.3)
    weight = min(hurry, 1.0)
    return (1 - weight) * regular + weight * irregular


def _trim_silence(samples: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    voiced = np.flatnonzero(np.abs(samples) > floor)
    return samples[voiced[0] : voiced[-1] + 1] if voiced.size else samples


def _tense(x: np.ndarray, amount: float) -> np.ndarray:
    """Pressed voice: flatter spectral tilt (pre-emphasis) and soft clipping, both growing with ``amount``."""
    amount = min(amount, 1.0)
    emphasised = np.concatenate([x[:1], x[1:] - 0.95 * x[:-1]])
    x = (1 - 0.6 * amount) * x + 0.6 * amount * emphasised
    drive = 4.0 * amount
    if drive < 1e-3:
        return x
    peak = np.max(np.abs(x))
    return np.tanh(drive * x / peak) / np.tanh(drive) * peak


def _tremble(x: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """~6 Hz tremor and cycle-to-cycle jitter (a moving read position), and amplitude modulation."""
    n = np.arange(len(x))
    rate_hz = rng.uniform(5.0, 7.0)
    phase = 2 * np.pi * rate_hz * n / SAMPLE_RATE + rng.uniform(0, 2 * np.pi)
    tremor = 0.04 * amount / (2 * np.pi * rate_hz) * SAMPLE_RATE * np.sin(phase)  # peak deviation 4 %
    # Delay noise that changes about once per glottal cycle lengthens and shortens single periods.
    knots = np.arange(len(x) // 80 + 2) * 80
    jitter = np.interp(n, knots, rng.normal(0, 0.6 * amount, len(knots)))
    warped = np.interp(n - tremor - jitter, n, x)
    return warped * (1 + 0.25 * amount * np.sin(phase + rng.uniform(0, np.pi)))


def _breathe(x: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Breathy voice: high-passed noise that follows the speech envelope."""
    envelope = np.convolve(np.abs(x), np.ones(320) / 320, mode="same")
    noise = np.diff(rng.normal(size=len(x) + 1)) * envelope
    return x + 0.3 * amount * noise * _active_rms(x) / _active_rms(noise)


def _phone_band(x: np.ndarray, low_hz: float = 300.0, high_hz: float = 3400.0) -> np.ndarray:
    """A narrow-band phone line: band-pass (zero phase), and nothing above 4 kHz as on an 8 kHz line."""
    n_fft = 1 << (len(x) - 1).bit_length()
    freqs = np.maximum(np.fft.rfftfreq(n_fft, 1 / SAMPLE_RATE), 1e-3)
    gain = 1 / np.sqrt((1 + (low_hz / freqs) ** 8) * (1 + (freqs / high_hz) ** 16))
    gain[freqs >= SAMPLE_RATE / 4] = 0.0
    return np.fft.irfft(np.fft.rfft(x, n_fft) * gain, n_fft)[: len(x)]


def _background_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink, brown or babble-like noise."""
    kind = rng.choice(["pink", "brown", "babble"])
    n_fft = 1 << (n - 1).bit_length()  # power-of-two FFTs: arbitrary lengths are many times slower
    freqs = np.maximum(np.fft.rfftfreq(n_fft, 1 / SAMPLE_RATE), 20.0)
    if kind == "babble":
        band = (freqs / (freqs + 250)) / (1 + (freqs / 3000) ** 4) / np.sqrt(freqs)  # speech-like band
        talkers = _shaped((5, n_fft), band, rng)[:, :n]
        noise = np.sum(talkers * _syllable_envelopes(5, n, rng), axis=0)
    else:
        noise = _shaped((n_fft,), freqs ** (-0.5 if kind == "pink" else -1.0), rng)[:n]
    return noise / np.sqrt(np.mean(noise**2))


def _shaped(shape: tuple[int, ...], magnitude: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.normal(size=shape), axis=-1) * magnitude
    return np.fft.irfft(spectrum, n=shape[-1], axis=-1)


def _syllable_envelopes(n_talkers: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Loudness of each babbling talker, changing about every 125 ms (syllable rate)."""
    knots = np.arange(n // 2000 + 2) * 2000
    return np.stack([np.interp(np.arange(n), knots, rng.random(len(knots))) for _ in range(n_talkers)])


def _active_rms(x: np.ndarray, frame: int = 320) -> float:
    """RMS over the frames within 20 dB of the loudest, so pauses do not lower the level."""
    frames = x[: len(x) // frame * frame].reshape(-1, frame)
    energy = np.mean(frames**2, axis=1)
    return float(np.sqrt(np.mean(energy[energy > 0.01 * energy.max()])) + 1e-12)
