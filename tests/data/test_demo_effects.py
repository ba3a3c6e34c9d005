from __future__ import annotations

import numpy as np
import pytest

from vietser.data.audio import Audio
from vietser.data.demo_effects import SAMPLE_RATE, Channel, Expression, Voice, render_clip
from vietser.features.prosody import extract_prosody

SENTENCE = "Cứu với, nhà tôi đang bị cháy to lắm!"  # three phrases
VOICE = Voice(name="vi+m3", pitch=70.0, pitch_range=45.0, rate=150.0, volume=60, level_db=-26.0)
NEUTRAL = Expression(*[0.0] * len(Expression._fields))
QUIET_LINE = Channel(phone=False, snr_db=60.0, gain_db=0.0)


def _render(expression: Expression = NEUTRAL, channel: Channel = QUIET_LINE, seed: int = 0) -> np.ndarray:
    return render_clip(SENTENCE, VOICE, expression, channel, [seed])


def _prosody(samples: np.ndarray) -> dict[str, float]:
    return extract_prosody(Audio(samples=samples, sample_rate=SAMPLE_RATE, path="clip.wav"))


def _band_share(samples: np.ndarray, low_hz: float, high_hz: float) -> float:
    """Share of the signal's energy between two frequencies."""
    power = np.abs(np.fft.rfft(samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    return float(power[(freqs >= low_hz) & (freqs < high_hz)].sum() / power.sum())


def _level_db(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(samples.astype(np.float64) ** 2))))


def test_clip_is_float32_in_range_with_silence_around_the_speech() -> None:
    samples = _render()
    assert samples.dtype == np.float32
    assert np.abs(samples).max() <= 1.0
    edge = int(0.1 * SAMPLE_RATE)
    assert _level_db(samples[:edge]) < _level_db(samples) - 30


def test_phone_line_keeps_only_the_300_to_3400_hz_band() -> None:
    wide = _render()
    phone = _render(channel=QUIET_LINE._replace(phone=True))
    assert _band_share(wide, 4000, 8000) > 0.001
    assert _band_share(phone, 4000, 8000) < 1e-6
    assert _band_share(phone, 0, 150) < 0.1 * _band_share(wide, 0, 150)


def test_effort_and_handset_gain_add_up_in_the_level() -> None:
    louder = _render(NEUTRAL._replace(gain_db=4.0), QUIET_LINE._replace(gain_db=2.0))
    assert _level_db(louder) - _level_db(_render()) == pytest.approx(6.0, abs=1.0)


def test_background_noise_sits_snr_below_the_speakers_level() -> None:
    noisy = _render(channel=QUIET_LINE._replace(snr_db=20.0))
    lead_in = noisy[: int(0.1 * SAMPLE_RATE)]
    assert _level_db(lead_in) == pytest.approx(VOICE.level_db - 20.0, abs=3.0)


def test_pitch_shift_raises_the_pitch() -> None:
    raised = _prosody(_render(NEUTRAL._replace(pitch_shift=25.0)))
    assert raised["prosody.f0_mean_st"] > _prosody(_render())["prosody.f0_mean_st"] + 2.0


def test_positive_slope_rises_and_negative_slope_falls_across_phrases() -> None:
    rising = _prosody(_render(NEUTRAL._replace(slope=25.0)))["prosody.f0_slope_st_per_s"]
    falling = _prosody(_render(NEUTRAL._replace(slope=-25.0)))["prosody.f0_slope_st_per_s"]
    assert rising > 0 > falling


def test_tension_moves_energy_to_high_frequencies() -> None:
    tense = _render(NEUTRAL._replace(tension=1.0))
    assert _band_share(tense, 1000, 5000) > 1.5 * _band_share(_render(), 1000, 5000)


def test_breath_and_tremor_make_the_voice_noisier_and_less_regular() -> None:
    plain = _prosody(_render())
    shaky = _prosody(_render(NEUTRAL._replace(breath=1.0, tremor=1.0)))
    assert shaky["prosody.hnr_db"] < plain["prosody.hnr_db"] - 1.0
    assert shaky["prosody.jitter_local"] > 1.2 * plain["prosody.jitter_local"]


def test_faster_rate_shortens_the_clip() -> None:
    assert len(_render(NEUTRAL._replace(rate_gain=0.4))) < 0.85 * len(_render())
