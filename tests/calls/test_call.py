"""Deciding a whole call with a trained run: segments, speakers, baselines, summary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.calls.conftest import BuiltCall
from tests.calls.signals import SR, held_notes, silence, with_floor
from vietser.calls.call import CallConfig, CallResult, decide_call
from vietser.errors import ConfigError
from vietser.run.predict import load_predictor


@pytest.fixture(scope="module")
def predictor(trained_run: Path):  # noqa: ANN201 - Predictor
    return load_predictor(trained_run)


@pytest.fixture(scope="module")
def stereo_result(predictor, stereo_call: BuiltCall) -> CallResult:  # noqa: ANN001
    return decide_call(predictor, stereo_call.path, CallConfig(channel_names=("caller", "agent")))


@pytest.fixture(scope="module")
def two_speaker_result(predictor, two_speaker_call: BuiltCall) -> CallResult:  # noqa: ANN001
    return decide_call(predictor, two_speaker_call.path, CallConfig(channel_names=("agent", "caller")))


def test_every_clip_of_a_call_is_covered_by_decided_segments_that_say_where_they_lie(
    stereo_result: CallResult, stereo_call: BuiltCall
) -> None:
    decisions = stereo_result.decisions

    covering = [
        [d for d in decisions if start - 0.3 <= d.start_s and d.end_s <= end + 0.3] for start, end in stereo_call.spans
    ]
    assert all(covering) and sum(map(len, covering)) == len(decisions)
    for decision in decisions:
        assert decision.call_id == "call-stereo" and decision.channel == "caller"
        assert decision.path == str(stereo_call.path)
        assert json.loads(decision.model_dump_json())["start_s"] == decision.start_s
    assert [d.start_s for d in decisions] == sorted(d.start_s for d in decisions)


def test_a_silent_channel_is_reported_as_silent(stereo_result: CallResult, stereo_call: BuiltCall) -> None:
    summary = stereo_result.summary

    caller, agent = summary.speakers
    assert not caller.silent and caller.segments >= len(stereo_call.spans) and caller.own_baseline
    assert agent.silent and agent.segments == 0
    assert any("'agent' is silent" in note for note in summary.notes)


def test_the_summary_shares_add_up_and_name_the_peak_segment(stereo_result: CallResult) -> None:
    result = stereo_result
    caller = result.summary.speakers[0]

    assert sum(caller.share.values()) == pytest.approx(1.0)
    assert caller.peak is not None and caller.peak.clip_id in {d.clip_id for d in result.decisions}
    for label, stretch in caller.longest.items():
        assert stretch.label == label and stretch.end_s > stretch.start_s
        assert stretch.end_s - stretch.start_s >= caller.first[label].end_s - caller.first[label].start_s
    assert caller.delegated == sum(d.route.value == "delegated" for d in result.decisions)


def test_two_channels_are_two_speakers_with_separate_timelines(two_speaker_result: CallResult) -> None:
    result = two_speaker_result

    assert [s.channel for s in result.summary.speakers] == ["agent", "caller"]
    assert all(s.segments >= 6 and s.own_baseline for s in result.summary.speakers)
    assert {d.speaker for d in result.decisions} == {"call-two/agent", "call-two/caller"}


def test_each_speaker_is_read_against_its_own_segments_in_the_call(
    predictor,
    two_speaker_result: CallResult,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    """The agent's first segment, decided alone, is read against the corpus; in the call, against the agent."""
    first = next(d for d in two_speaker_result.decisions if d.channel == "agent")
    signal, rate = sf.read(first.path, dtype="float32", always_2d=True)
    alone = tmp_path / "alone.wav"
    sf.write(alone, signal[int(first.start_s * rate) : int(first.end_s * rate), 0], rate)

    corpus_read = predictor.predict_paths([alone]).decisions[0]

    assert "this speaker's baseline" in first.evidence[0].text_en
    assert "corpus baseline" in corpus_read.evidence[0].text_en
    assert corpus_read.probabilities != pytest.approx(first.probabilities, abs=1e-6)


def test_silence_only_and_music_only_calls_give_an_empty_timeline_and_a_note(predictor, tmp_path: Path) -> None:  # noqa: ANN001
    for name, signal in {"silence": silence(20.0), "music": with_floor(held_notes(20.0))}.items():
        path = tmp_path / f"{name}.wav"
        sf.write(path, signal, SR)

        result = decide_call(predictor, path)

        assert result.decisions == []
        assert any("timeline is empty" in note for note in result.summary.notes)


def test_smoothing_pulls_a_segment_towards_its_neighbours(
    predictor, stereo_result: CallResult, stereo_call: BuiltCall
) -> None:  # noqa: ANN001
    plain = stereo_result.decisions
    smoothed = decide_call(predictor, stereo_call.path, CallConfig(smoothing_s=5.0)).decisions

    spread = lambda ds: np.std([d.probabilities["calm"] for d in ds])  # noqa: E731
    assert spread(smoothed) < spread(plain)
    assert all(sum(d.probabilities.values()) == pytest.approx(1.0) for d in smoothed)


def test_channel_names_must_match_the_channels(predictor, stereo_call: BuiltCall) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match="2 channel"):
        decide_call(predictor, stereo_call.path, CallConfig(channel_names=("only",)))


def test_a_long_call_is_decided_in_batches_each_read_against_its_own_segments(
    predictor,
    two_speaker_call: BuiltCall,
    two_speaker_result: CallResult,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    monkeypatch.setattr("vietser.calls.call.BATCH_SEGMENTS", 2)  # batches of 2-3, below the run's 5 clips a speaker

    batched = decide_call(predictor, two_speaker_call.path, CallConfig(channel_names=("agent", "caller"))).decisions

    assert [d.clip_id for d in batched] == [d.clip_id for d in two_speaker_result.decisions]
    assert all("corpus baseline" in d.evidence[0].text_en for d in batched)
