"""Audio loading: formats, channels, rates, and every unusable-file case with its specific error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import ToneWriter, make_voice_like
from vietser.data.audio import SAMPLE_RATE, file_sha256, load_audio
from vietser.errors import (
    CorruptAudioError,
    EmptyAudioError,
    SilentAudioError,
    TooLongAudioError,
    TooShortAudioError,
)


@pytest.mark.parametrize("suffix,fmt", [(".wav", "WAV"), (".flac", "FLAC"), (".ogg", "OGG"), (".mp3", "MP3")])
def test_common_formats_load_as_16k_mono(tmp_path: Path, suffix: str, fmt: str) -> None:
    path = tmp_path / f"clip{suffix}"
    sf.write(path, make_voice_like(duration_s=1.0, sample_rate=44_100), 44_100, format=fmt)

    audio = load_audio(path)

    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.ndim == 1 and audio.samples.dtype == np.float32
    assert audio.duration_s == pytest.approx(1.0, abs=0.06)


def test_stereo_is_mixed_to_mono(tmp_path: Path) -> None:
    left = make_voice_like(duration_s=0.5)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, np.zeros_like(left)], axis=1), SAMPLE_RATE)

    audio = load_audio(path)

    assert np.allclose(audio.samples, left / 2, atol=1e-4)


@pytest.mark.parametrize("rate", [8_000, 96_000])
def test_other_sample_rates_are_resampled(tmp_path: Path, write_tone: ToneWriter, rate: int) -> None:
    audio = load_audio(write_tone("tone.wav", duration_s=0.8, sample_rate=rate))

    assert audio.sample_rate == SAMPLE_RATE
    assert len(audio.samples) == pytest.approx(0.8 * SAMPLE_RATE, abs=2)


def test_zero_byte_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    path.write_bytes(b"")

    with pytest.raises(CorruptAudioError, match="zero.wav"):
        load_audio(path)


def test_header_only_wav_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "header.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), SAMPLE_RATE)

    with pytest.raises(EmptyAudioError, match="header.wav"):
        load_audio(path)


def test_text_with_wav_name_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio")

    with pytest.raises(CorruptAudioError, match="notes.wav"):
        load_audio(path)


def test_nan_samples_are_corrupt(tmp_path: Path) -> None:
    samples = make_voice_like(duration_s=0.5)
    samples[100] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, samples, SAMPLE_RATE, subtype="FLOAT")

    with pytest.raises(CorruptAudioError, match="NaN"):
        load_audio(path)


def test_silence_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE)

    with pytest.raises(SilentAudioError, match="silent.wav"):
        load_audio(path)


def test_too_short_names_duration_and_minimum(write_tone: ToneWriter) -> None:
    with pytest.raises(TooShortAudioError, match=r"0\.200 s, need at least 0\.3 s"):
        load_audio(write_tone("short.wav", duration_s=0.2))


def test_too_long_is_refused_from_the_header(write_tone: ToneWriter) -> None:
    with pytest.raises(TooLongAudioError, match="split long recordings"):
        load_audio(write_tone("long.wav", duration_s=3.0), max_duration_s=2.0)


def test_truncated_wav_loads_what_is_there(write_tone: ToneWriter) -> None:
    path = write_tone("cut.wav", duration_s=1.0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    audio = load_audio(path)

    assert 0.4 < audio.duration_s < 0.6


def test_content_hash_ignores_the_file_name(tmp_path: Path, write_tone: ToneWriter) -> None:
    first = write_tone("a.wav")
    second = tmp_path / "b with space é.wav"
    second.write_bytes(first.read_bytes())

    assert file_sha256(first) == file_sha256(second)
    assert file_sha256(first) != file_sha256(write_tone("c.wav", f0=300))
