from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import find_peaks

from tests.conftest import make_voice_like
from vietser.data.audio import SAMPLE_RATE, Audio
from vietser.errors import FeatureError
from vietser.features.prosody import COLUMNS, UTTERANCE_MARGIN_S, extract_prosody, prominent_peaks, utterance


def _audio(samples: np.ndarray, name: str = "clip.wav") -> Audio:
    return Audio(samples=samples.astype(np.float32), sample_rate=SAMPLE_RATE, path=name)


def _syllables(rate: float, duration_s: float = 3.0) -> Audio:
    """A voiced tone with ``rate`` loudness bursts per second, like syllables."""
    tone = make_voice_like(f0=180.0, duration_s=duration_s, amplitude=0.3)
    t = np.arange(len(tone)) / SAMPLE_RATE
    return _audio(tone * np.sin(np.pi * rate * t) ** 2, f"syllables_{rate}.wav")


def test_all_columns_are_present_and_finite() -> None:
    values = extract_prosody(_audio(make_voice_like()))
    assert tuple(values) == COLUMNS
    assert all(math.isfinite(value) for value in values.values())


def test_f0_of_a_200_hz_voice_is_200_hz() -> None:
    values = extract_prosody(_audio(make_voice_like(f0=200.0)))
    assert values["prosody.f0_mean_hz"] == pytest.approx(200.0, rel=0.03)


def test_f0_semitones_are_relative_to_27_5_hz() -> None:
    values = extract_prosody(_audio(make_voice_like(f0=200.0)))
    expected = 12 * math.log2(200.0 / 27.5)
    assert values["prosody.f0_mean_st"] == pytest.approx(expected, abs=0.5)
    assert values["prosody.f0_median_st"] == pytest.approx(expected, abs=0.5)


def test_rising_pitch_has_positive_slope_and_wider_range() -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(150.0 * 2.0**t) / SAMPLE_RATE  # one octave up in one second
    glide = _audio(0.3 * sum(np.sin(k * phase) / k for k in range(1, 6)))
    flat = extract_prosody(_audio(make_voice_like(f0=150.0)))
    rising = extract_prosody(glide)
    assert rising["prosody.f0_slope_st_per_s"] == pytest.approx(12.0, rel=0.2)
    assert rising["prosody.f0_range_st"] > flat["prosody.f0_range_st"] + 5


def test_louder_copy_has_higher_mean_intensity() -> None:
    quiet = extract_prosody(_audio(make_voice_like(amplitude=0.1)))
    loud = extract_prosody(_audio(make_voice_like(amplitude=0.4)))
    assert loud["prosody.intensity_mean_db"] - quiet["prosody.intensity_mean_db"] == pytest.approx(12.0, abs=1.0)


def test_speech_rate_orders_and_roughly_matches_syllable_rates() -> None:
    slow = extract_prosody(_syllables(4.0))["prosody.speech_rate"]
    fast = extract_prosody(_syllables(7.0))["prosody.speech_rate"]
    assert slow == pytest.approx(4.0, rel=0.2)
    assert fast == pytest.approx(7.0, rel=0.2)
    assert fast > slow


def test_leading_silence_does_not_change_speech_rate() -> None:
    speech = _syllables(5.0).samples
    padded = np.concatenate([np.zeros(SAMPLE_RATE, dtype=np.float32), speech])
    assert extract_prosody(_audio(padded))["prosody.speech_rate"] == pytest.approx(
        extract_prosody(_audio(speech))["prosody.speech_rate"], rel=0.05
    )


def test_utterance_drops_the_padding_and_keeps_pauses_inside() -> None:
    phrase = make_voice_like(duration_s=1.0)
    gap = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    silence = np.zeros(SAMPLE_RATE, dtype=np.float32)
    inner = np.concatenate([phrase, gap, phrase])
    kept = utterance(_audio(np.concatenate([silence, inner, silence]), "padded.wav"))
    assert kept.path == "padded.wav"
    assert kept.duration_s == pytest.approx(len(inner) / SAMPLE_RATE + 2 * UTTERANCE_MARGIN_S, abs=0.08)
    # A clip without padding keeps all but the edge the intensity window cannot centre a frame on.
    assert utterance(_audio(inner)).duration_s == pytest.approx(len(inner) / SAMPLE_RATE, abs=0.05)


def test_pause_between_two_phrases_is_measured() -> None:
    phrase = make_voice_like(duration_s=1.0)
    with_pause = np.concatenate([phrase, np.zeros(SAMPLE_RATE // 2, dtype=np.float32), phrase])
    assert extract_prosody(_audio(phrase))["prosody.pause_ratio"] == 0.0
    # 0.5 s of 2.5 s, less the intensity window's smear into the gap.
    assert extract_prosody(_audio(with_pause))["prosody.pause_ratio"] == pytest.approx(0.2, abs=0.05)


def test_clip_without_voiced_speech_raises_feature_error() -> None:
    noise = np.random.default_rng(0).normal(0, 0.1, SAMPLE_RATE)
    with pytest.raises(FeatureError, match="no voiced speech") as caught:
        extract_prosody(_audio(noise, "noise.wav"))
    assert caught.value.path == "noise.wav"


def test_prominent_peaks_are_those_scipy_finds_plateaus_and_edges_included() -> None:
    rng = np.random.default_rng(1)
    for _ in range(2000):
        # Rounded random walks: plateaus, peaks at the edges, ties between bases.
        x = np.round(rng.normal(size=int(rng.integers(0, 50))).cumsum(), int(rng.integers(0, 2)))
        height, prominence = float(rng.normal()), float(rng.uniform(0, 2))
        expected, _ = find_peaks(x, height=height, prominence=prominence)
        np.testing.assert_array_equal(prominent_peaks(x, height, prominence), expected)
