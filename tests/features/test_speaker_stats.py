from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vietser.errors import ConfigError
from vietser.features.normalize import CorpusStats, normalize_by_speaker
from vietser.features.speaker_stats import Moments, SpeakerMoments

COLUMNS = ["prosody.f0_mean_st", "prosody.hnr_db"]


def _frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Rows from 5 speakers of very different sizes and offsets, some without a speaker id."""
    rng = np.random.default_rng(seed)
    speakers = rng.choice(["a", "b", "c", "d", "", None], size=n, p=[0.4, 0.25, 0.15, 0.05, 0.1, 0.05])
    offset = np.array([{"a": 0.0, "b": 50.0, "c": -20.0, "d": 1e4}.get(s, 5.0) for s in speakers])
    values = offset[:, None] + rng.normal(0, [1.0, 1e-3], size=(n, 2)) * rng.uniform(0.5, 3.0, size=(n, 1))
    return pd.DataFrame({"speaker": speakers, COLUMNS[0]: values[:, 0], COLUMNS[1]: values[:, 1]})


def _streamed(frame: pd.DataFrame, batch: int) -> SpeakerMoments:
    moments = SpeakerMoments(COLUMNS)
    for start in range(0, len(frame), batch):
        moments.add(frame.iloc[start : start + batch])
    return moments


def test_merged_moments_equal_those_of_all_rows() -> None:
    values = np.random.default_rng(2).normal(1e6, 1.0, size=(101, 3))
    merged = Moments.of(values[:7]).merge(Moments.of(values[7:60])).merge(Moments.of(values[60:]))
    assert merged.count == 101
    np.testing.assert_allclose(merged.mean, values.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(merged.std(), values.std(axis=0, ddof=1), rtol=1e-9)


def test_one_row_has_zero_standard_deviation() -> None:
    assert Moments.of(np.array([[3.0, 4.0]])).std().tolist() == [0.0, 0.0]


@pytest.mark.parametrize("batch", [1, 7, 60])
def test_batched_zscores_equal_whole_table_normalisation(batch: int) -> None:
    frame = _frame()
    moments = _streamed(frame, batch)
    streamed = pd.concat([moments.zscores(frame.iloc[s : s + 9], min_clips=4) for s in range(0, len(frame), 9)])
    pd.testing.assert_frame_equal(streamed, normalize_by_speaker(frame, COLUMNS, min_clips=4), rtol=1e-9, atol=1e-9)


def test_batched_zscores_with_fallback_equal_whole_table_normalisation() -> None:
    frame = _frame(seed=3)
    fallback = CorpusStats(mean=dict.fromkeys(COLUMNS, 2.0), std={COLUMNS[0]: 4.0, COLUMNS[1]: float("nan")})
    streamed = _streamed(frame, 11).zscores(frame, min_clips=20, fallback=fallback)
    expected = normalize_by_speaker(frame, COLUMNS, min_clips=20, fallback=fallback)
    pd.testing.assert_frame_equal(streamed, expected, rtol=1e-9, atol=1e-9)


def test_corpus_statistics_equal_those_of_the_whole_table() -> None:
    frame = _frame(seed=4)
    corpus = _streamed(frame, 13).corpus()
    expected = CorpusStats.from_frame(frame, COLUMNS)
    assert corpus.mean == pytest.approx(expected.mean, rel=1e-12)
    assert corpus.std == pytest.approx(expected.std, rel=1e-9)


def test_frame_without_speaker_column_is_scored_against_the_corpus() -> None:
    frame = _frame(seed=5).drop(columns="speaker")
    streamed = _streamed(frame, 10).zscores(frame, min_clips=2)
    pd.testing.assert_frame_equal(streamed, normalize_by_speaker(frame, COLUMNS, min_clips=2), rtol=1e-9, atol=1e-9)


def test_fallback_lacking_columns_is_rejected() -> None:
    fallback = CorpusStats(mean={COLUMNS[0]: 0.0}, std={COLUMNS[0]: 1.0})
    with pytest.raises(ConfigError, match="fallback statistics lack 1 column"):
        _streamed(_frame(), 10).zscores(_frame(), min_clips=3, fallback=fallback)
