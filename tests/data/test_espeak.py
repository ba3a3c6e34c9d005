from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import parselmouth
import pytest

from vietser.data import espeak
from vietser.data.espeak import VIETNAMESE_VOICES, synthesize
from vietser.errors import SynthesisError

SENTENCE = "Xin chào, tôi muốn hỏi về hóa đơn tiền điện tháng này."
NORMAL = {"rate": 160, "pitch": 50, "pitch_range": 50, "volume": 60}


def median_f0(samples: np.ndarray, sample_rate: int) -> float:
    f0 = parselmouth.Sound(samples.astype(np.float64), sample_rate).to_pitch().selected_array["frequency"]
    return float(np.median(f0[f0 > 0]))


@pytest.mark.parametrize("voice", [*VIETNAMESE_VOICES, "vi-VN-x-south+f2"])
def test_each_vietnamese_voice_speaks_a_sentence_of_plausible_length(voice: str) -> None:
    samples, sample_rate = synthesize(SENTENCE, voice=voice, **NORMAL)
    assert samples.dtype == np.float32
    assert sample_rate == 22050
    assert 1.5 < len(samples) / sample_rate < 5.0
    assert np.sqrt(np.mean(samples**2)) > 0.02


def test_higher_pitch_parameter_gives_higher_f0() -> None:
    low, sample_rate = synthesize(SENTENCE, voice="vi", **{**NORMAL, "pitch": 20})
    high, _ = synthesize(SENTENCE, voice="vi", **{**NORMAL, "pitch": 80})
    assert median_f0(high, sample_rate) > 1.3 * median_f0(low, sample_rate)


def test_female_variant_speaks_higher_than_male_variant() -> None:
    male, sample_rate = synthesize(SENTENCE, voice="vi+m3", **NORMAL)
    female, _ = synthesize(SENTENCE, voice="vi+f2", **NORMAL)
    assert median_f0(female, sample_rate) > 1.4 * median_f0(male, sample_rate)


def test_faster_rate_gives_shorter_audio() -> None:
    slow, _ = synthesize(SENTENCE, voice="vi", **{**NORMAL, "rate": 120})
    fast, _ = synthesize(SENTENCE, voice="vi", **{**NORMAL, "rate": 240})
    assert len(fast) < 0.75 * len(slow)


def test_unknown_voice_raises_synthesis_error_naming_vietnamese_voices() -> None:
    with pytest.raises(SynthesisError, match="vi-VN-x-central"):
        synthesize(SENTENCE, voice="no-such-voice", **NORMAL)


def test_out_of_range_parameter_raises_synthesis_error() -> None:
    with pytest.raises(SynthesisError, match="pitch is 150"):
        synthesize(SENTENCE, voice="vi", **{**NORMAL, "pitch": 150})


def test_empty_text_raises_synthesis_error() -> None:
    with pytest.raises(SynthesisError, match="empty"):
        synthesize("  ", voice="vi", **NORMAL)


def test_missing_library_raises_synthesis_error_saying_how_to_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(espeak, "_ENGINE", None)
    monkeypatch.setattr(espeak.espeakng_loader, "get_library_path", lambda: str(tmp_path / "libespeak-ng.so"))
    with pytest.raises(SynthesisError, match="pip install --force-reinstall espeakng-loader"):
        synthesize(SENTENCE, voice="vi", **NORMAL)


def test_breathy_variant_is_reproducible_across_processes_with_the_same_seed() -> None:
    script = (
        "import hashlib; from vietser.data.espeak import synthesize; "
        f"samples, _ = synthesize({SENTENCE!r}, voice='vi+f3', rate=160, pitch=50, pitch_range=50, volume=60, seed=3); "
        "print(hashlib.sha256(samples.tobytes()).hexdigest())"
    )
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
            for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout
    assert len(runs[0].stdout.strip()) == 64
