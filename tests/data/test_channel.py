"""Simulated recording channels: real filters and codecs, measured on generated signals."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tests.conftest import ToneWriter
from vietser.data.channel import (
    CHANNELS,
    TELEPHONE_RATE,
    a_law,
    add_noise,
    apply_channel,
    channel_copies,
    mu_law,
    telephone,
)

RATE = 16_000


def tone(frequency: float, seconds: float = 1.0, rate: int = RATE, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_telephone_is_8_khz_and_keeps_only_the_voice_band() -> None:
    kept = telephone(tone(1000), RATE)
    assert kept.sample_rate == TELEPHONE_RATE
    assert len(kept.samples) == TELEPHONE_RATE
    assert rms(kept.samples) == pytest.approx(rms(tone(1000)), rel=0.1)
    assert rms(telephone(tone(100), RATE).samples) < 0.1 * rms(tone(100))
    assert rms(telephone(tone(6000), RATE).samples) < 0.01 * rms(tone(6000))


@pytest.mark.parametrize("codec", [mu_law, a_law])
def test_g711_companding_is_coarse_but_faithful(codec) -> None:
    signal = tone(440, amplitude=0.8)
    coded = codec(signal)
    assert not np.array_equal(coded, signal)
    error = rms(coded - signal) / rms(signal)
    assert 1e-4 < error < 0.05
    quiet = tone(440, amplitude=0.01)
    assert rms(codec(quiet) - quiet) / rms(quiet) < 0.1  # companding keeps quiet speech usable


def test_noise_lands_at_the_requested_snr() -> None:
    signal = tone(300)
    noisy = add_noise(signal, 10.0, np.random.default_rng(0))
    snr = 20 * np.log10(rms(signal) / rms(noisy - signal))
    assert snr == pytest.approx(10.0, abs=0.2)


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_is_deterministic_per_seed_and_changes_the_signal(channel) -> None:
    signal = tone(500) + tone(2500, amplitude=0.2)
    first = apply_channel(signal, RATE, channel, np.random.default_rng(3))
    again = apply_channel(signal, RATE, channel, np.random.default_rng(3))
    np.testing.assert_array_equal(first.samples, again.samples)
    assert first.description == again.description
    assert np.all(np.isfinite(first.samples)) and np.max(np.abs(first.samples)) <= 1.0 + 1e-6
    if first.sample_rate == RATE:
        assert not np.allclose(first.samples, signal, atol=1e-3)


def test_an_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown channel"):
        apply_channel(tone(440), RATE, "radio", np.random.default_rng(0))  # type: ignore[arg-type]


def test_channel_copies_are_written_once_for_training_clips_only(tmp_path: Path, write_tone: ToneWriter) -> None:
    paths = [write_tone(f"clip{i}.wav", f0=200 + 40 * i, duration_s=1.0) for i in range(3)]
    (tmp_path / "broken.wav").write_bytes(b"not audio")
    manifest = pd.DataFrame(
        {
            "clip_id": ["a", "b", "c", "d"],
            "path": [*map(str, paths), str(tmp_path / "broken.wav")],
            "label": ["calm", "angry", "panic", "calm"],
            "speaker": ["s1", "s1", "s2", "s2"],
            "split": ["train", "train", "test", "train"],
        }
    )
    out = tmp_path / "channels"
    copies = channel_copies(manifest, ("telephone", "noise"), out)

    assert list(copies["clip_id"]) == ["a@telephone", "b@telephone", "a@noise", "b@noise"]
    assert list(copies["speaker"]) == ["s1@telephone", "s1@telephone", "s1@noise", "s1@noise"]
    assert list(copies["label"]) == ["calm", "angry", "calm", "angry"]
    assert sf.info(copies["path"].iloc[0]).samplerate == TELEPHONE_RATE
    written = {p: Path(p).stat().st_mtime_ns for p in copies["path"]}
    again = channel_copies(manifest, ("telephone", "noise"), out)
    assert list(again["path"]) == list(copies["path"])
    assert {p: Path(p).stat().st_mtime_ns for p in again["path"]} == written


def test_runs_sharing_the_cache_can_make_the_same_copies_at_once(tmp_path: Path, write_tone: ToneWriter) -> None:
    paths = [write_tone(f"clip{i}.wav", f0=180 + 30 * i, duration_s=0.5) for i in range(4)]
    manifest = pd.DataFrame(
        {"clip_id": list("abcd"), "path": list(map(str, paths)), "label": "calm", "speaker": "s1", "split": "train"}
    )
    out = tmp_path / "channels"
    start = threading.Barrier(6)

    def copy_all() -> list[str]:
        start.wait()
        return list(channel_copies(manifest, ("telephone",), out)["path"])

    with ThreadPoolExecutor(6) as pool:
        results = [future.result() for future in [pool.submit(copy_all) for _ in range(6)]]

    assert all(result == results[0] for result in results)
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(p).name for p in results[0])
