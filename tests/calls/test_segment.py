"""Segmentation of generated signals with known pauses."""

from __future__ import annotations

import numpy as np
import pytest
import soxr
from pydantic import ValidationError

from tests.calls.signals import (
    SR,
    held_notes,
    pink_noise,
    silence,
    syllables,
    utterances,
    vowels,
    with_floor,
)
from vietser.calls.segment import SegmentationConfig, Segmenter, segment_signal
from vietser.calls.vad import VadBackend, band_spectra, noise_likelihood_ratio
from vietser.data.channel import telephone

SPANS = [(1.0, 3.0), (4.5, 7.0), (9.0, 10.5)]


@pytest.mark.parametrize("vad", list(VadBackend))
def test_each_utterance_becomes_one_segment_within_a_tenth_of_a_second(vad: VadBackend) -> None:
    segments = list(segment_signal(utterances(SPANS, 12.0), SegmentationConfig(vad=vad)))

    assert len(segments) == len(SPANS)
    for segment, (start, end) in zip(segments, SPANS):
        assert abs(segment.start_s - start) < 0.2 and abs(segment.end_s - end) < 0.2
        assert len(segment.samples) == pytest.approx((segment.end_s - segment.start_s) * SR, abs=1)


@pytest.mark.parametrize("gain_db", [-30.0, -15.0, 6.0])
def test_a_quieter_or_louder_recording_gives_the_same_segments(gain_db: float) -> None:
    signal = utterances(SPANS, 12.0)

    nominal = [(s.start_s, s.end_s) for s in segment_signal(signal)]
    scaled = [(s.start_s, s.end_s) for s in segment_signal(signal * np.float32(10 ** (gain_db / 20)))]

    assert len(scaled) == len(nominal) == len(SPANS)
    assert np.allclose(scaled, nominal, atol=0.1)


def test_a_quiet_line_with_only_hum_gives_no_segment() -> None:
    t = np.arange(10 * SR) / SR
    hum = with_floor(0.001 * np.sin(2 * np.pi * 50 * t).astype(np.float32)) * np.float32(0.1)  # about -80 dBFS

    assert list(segment_signal(hum)) == []


def test_a_pause_shorter_than_the_merge_gap_stays_inside_one_segment() -> None:
    spans = [(1.0, 2.5), (3.1, 4.5)]

    merged = list(segment_signal(utterances(spans, 5.5), SegmentationConfig(merge_gap_s=0.9)))
    apart = list(segment_signal(utterances(spans, 5.5), SegmentationConfig(merge_gap_s=0.3)))

    assert len(merged) == 1 and len(apart) == 2


def test_a_long_turn_is_cut_below_the_maximum_length_without_overlap() -> None:
    signal = with_floor(np.concatenate([silence(0.5), syllables(20.0), silence(0.5)]))

    segments = list(segment_signal(signal, SegmentationConfig(max_segment_s=6.0)))

    assert len(segments) >= 4
    assert all(s.end_s - s.start_s <= 6.0 + 0.1 for s in segments)
    assert all(a.end_s <= b.start_s for a, b in zip(segments, segments[1:]))
    assert segments[-1].end_s - segments[0].start_s > 19.5


def test_segments_shorter_than_the_minimum_speech_are_dropped() -> None:
    signal = utterances([(1.0, 1.2), (2.0, 4.0)], 5.0)

    segments = list(segment_signal(signal, SegmentationConfig(min_speech_s=0.4)))

    assert [round(s.start_s) for s in segments] == [2]


@pytest.mark.parametrize(
    "make",
    [
        lambda: silence(10.0),
        lambda: with_floor(held_notes(10.0)),
        lambda: np.random.default_rng(0).normal(0, 0.05, 10 * SR).astype(np.float32),
    ],
    ids=["silence", "held notes", "white noise"],
)
def test_silence_steady_music_and_noise_give_no_segment(make) -> None:  # noqa: ANN001
    segmenter = Segmenter()
    segments = segmenter.feed(make()) + segmenter.flush()

    assert segments == []


def _loud_and_quiet_in_line_noise(phone: bool) -> np.ndarray:
    """Pink noise at -46 dBFS, a voice at 1–3 s and the same voice 26 dB quieter (near the noise) at 5–7 s."""
    signal = pink_noise(10.0, 0.005)
    signal[1 * SR : 3 * SR] += vowels(2.0)
    signal[5 * SR : 7 * SR] += 0.05 * vowels(2.0, f0=170.0, seed=1)
    if not phone:
        return signal
    coded = telephone(signal, SR)
    return soxr.resample(coded.samples, coded.sample_rate, SR).astype(np.float32)


@pytest.mark.parametrize("phone", [False, True], ids=["studio", "telephone"])
def test_a_quiet_voice_in_steady_line_noise_is_found_by_its_spectrum(phone: bool) -> None:
    signal = _loud_and_quiet_in_line_noise(phone)

    found = [(s.start_s, s.end_s) for s in segment_signal(signal)]
    by_webrtc_alone = list(segment_signal(signal, SegmentationConfig(likelihood_threshold=None)))

    assert len(found) == 2 and len(by_webrtc_alone) == 1
    assert abs(found[1][0] - 5.0) < 0.2 and abs(found[1][1] - 7.0) < 0.2


@pytest.mark.parametrize("rate_hz", [0.1, 0.5, 2.0])
def test_line_noise_drifting_in_level_adds_no_segment_to_webrtcs(rate_hz: float) -> None:
    t = np.arange(60 * SR) / SR
    drifting = pink_noise(60.0, 0.01) * (10 ** (3 * np.sin(2 * np.pi * rate_hz * t) / 20)).astype(np.float32)

    found = [(s.start_s, s.end_s) for s in segment_signal(drifting)]
    alone = SegmentationConfig(likelihood_threshold=None)
    by_webrtc_alone = [(s.start_s, s.end_s) for s in segment_signal(drifting, alone)]

    assert found == by_webrtc_alone and len(found) <= 1


def test_the_likelihood_ratio_reads_a_frame_raised_evenly_as_louder_noise() -> None:
    noise = band_spectra(pink_noise(30.0, 0.01, seed=3))
    expected = noise.mean(axis=0)

    steady = noise_likelihood_ratio(noise, expected)
    louder = noise_likelihood_ratio(4 * noise, expected)  # 6 dB up across the band

    assert 0.1 < np.median(steady) < 0.3
    assert np.median(louder) == pytest.approx(np.median(steady), abs=0.05)


def test_segments_are_the_same_whatever_the_block_size() -> None:
    signal = utterances(SPANS, 12.0)

    whole = [(s.start_s, s.end_s) for s in segment_signal(signal, block_s=12.0)]
    small = [(s.start_s, s.end_s) for s in segment_signal(signal, block_s=0.37)]

    assert whole == small


def test_the_segmenter_holds_only_the_open_segment() -> None:
    segmenter = Segmenter()
    for index in range(30):  # five minutes of 4 s turns and 6 s pauses
        segmenter.feed(utterances([(0.5, 4.5)], 10.0, seed=index))

    assert len(segmenter._audio) < 11 * SR


def test_minimum_speech_must_be_below_the_maximum_segment_length() -> None:
    with pytest.raises(ValidationError, match="min_speech_s"):
        SegmentationConfig(min_speech_s=5.0, max_segment_s=4.0)
