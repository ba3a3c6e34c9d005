from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vietser.errors import ConfigError
from vietser.features.normalize import CorpusStats, normalize_by_speaker
from vietser.features.speaker_stats import SpeakerMoments

COLUMNS = ["prosody.f0_mean_st", "prosody.speech_rate"]


def _frame() -> pd.DataFrame:
    """Speaker a (6 clips, low voice), b (6 clips, high voice), c (2 clips)."""
    rng = np.random.default_rng(1)
    rows = []
    for speaker, n, pitch in (("a", 6, 28.0), ("b", 6, 38.0), ("c", 2, 33.0)):
        for _ in range(n):
            rows.append(
                {"speaker": speaker, COLUMNS[0]: pitch + rng.normal(0, 1.5), COLUMNS[1]: 4 + rng.normal(0, 0.5)}
            )
    return pd.DataFrame(rows)


def test_returns_z_columns_on_the_frame_index() -> None:
    frame = _frame().set_index(pd.Index(range(100, 114)))
    z = normalize_by_speaker(frame, COLUMNS)
    assert list(z.columns) == ["z." + column for column in COLUMNS]
    assert z.index.equals(frame.index)


def test_z_scores_have_zero_mean_and_unit_sd_per_speaker() -> None:
    frame = _frame()
    z = normalize_by_speaker(frame, COLUMNS, min_clips=5)
    for speaker in ("a", "b"):
        rows = z[frame["speaker"] == speaker]
        assert np.allclose(rows.mean(), 0.0, atol=1e-9)
        assert np.allclose(rows.std(), 1.0)


def test_speaker_with_too_few_clips_uses_corpus_statistics() -> None:
    frame = _frame()
    z = normalize_by_speaker(frame, COLUMNS, min_clips=5)
    values = frame[COLUMNS]
    expected = (values - values.mean()) / values.std()
    few = frame["speaker"] == "c"
    assert np.allclose(z[few].to_numpy(), expected[few].to_numpy())


def test_speaker_with_too_few_clips_uses_the_given_fallback() -> None:
    frame = _frame()
    fallback = CorpusStats(mean={COLUMNS[0]: 30.0, COLUMNS[1]: 5.0}, std={COLUMNS[0]: 2.0, COLUMNS[1]: 1.0})
    z = normalize_by_speaker(frame, COLUMNS, min_clips=5, fallback=fallback)
    few = frame["speaker"] == "c"
    expected = (frame.loc[few, COLUMNS[0]] - 30.0) / 2.0
    assert np.allclose(z.loc[few, "z." + COLUMNS[0]], expected)


def test_rows_without_speaker_use_corpus_statistics() -> None:
    frame = _frame().drop(columns="speaker")
    z = normalize_by_speaker(frame, COLUMNS)
    values = frame[COLUMNS]
    assert np.allclose(z.to_numpy(), ((values - values.mean()) / values.std()).to_numpy())


def test_constant_feature_gives_zero_not_infinity() -> None:
    frame = _frame().assign(**{COLUMNS[1]: 4.0})
    z = normalize_by_speaker(frame, COLUMNS)
    assert (z["z." + COLUMNS[1]] == 0.0).all()


def test_near_constant_speaker_is_floored_at_a_tenth_of_corpus_sd() -> None:
    frame = _frame()
    a = frame["speaker"] == "a"
    frame.loc[a, COLUMNS[0]] = 28.0 + np.arange(6) * 1e-6
    z = normalize_by_speaker(frame, COLUMNS, min_clips=5)
    corpus_sd = frame[COLUMNS[0]].std()
    assert z.loc[a, "z." + COLUMNS[0]].abs().max() < 1e-5 / (0.1 * corpus_sd) + 1e-9


def test_missing_value_stays_missing_without_spoiling_the_speaker() -> None:
    frame = _frame()
    frame.loc[0, COLUMNS[0]] = np.nan
    z = normalize_by_speaker(frame, COLUMNS, min_clips=5)
    assert np.isnan(z.loc[0, "z." + COLUMNS[0]])
    assert z.loc[1:5, "z." + COLUMNS[0]].notna().all()


def test_fallback_without_the_columns_is_rejected() -> None:
    fallback = CorpusStats(mean={COLUMNS[0]: 30.0}, std={COLUMNS[0]: 2.0})
    with pytest.raises(ConfigError, match="fallback statistics lack"):
        normalize_by_speaker(_frame(), COLUMNS, fallback=fallback)


def test_min_clips_below_two_is_rejected() -> None:
    with pytest.raises(ConfigError, match="at least 2"):
        normalize_by_speaker(_frame(), COLUMNS, min_clips=1)


def test_corpus_stats_round_trip_through_json() -> None:
    stats = CorpusStats.from_frame(_frame(), COLUMNS)
    assert CorpusStats.from_json(stats.to_json()) == stats


def test_invalid_corpus_stats_json_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid corpus statistics"):
        CorpusStats.from_json('{"mean": {}}')


def _two_corpora() -> pd.DataFrame:
    """Corpus x: speakers a, b and c (2 clips) around pitch 30; corpus y: speaker d (2 clips) around 45."""
    frame = _frame().assign(corpus="x")
    rng = np.random.default_rng(2)
    far = pd.DataFrame(
        {"speaker": "d", "corpus": "y", COLUMNS[0]: 45 + rng.normal(0, 1.5, 2), COLUMNS[1]: 6 + rng.normal(0, 0.5, 2)}
    )
    return pd.concat([frame, far], ignore_index=True)


def test_a_speaker_without_baseline_is_read_against_its_own_corpus() -> None:
    frame = _two_corpora()
    z = normalize_by_speaker(frame, COLUMNS, min_clips=5)
    for corpus, speaker in (("x", "c"), ("y", "d")):
        values = frame.loc[frame["corpus"] == corpus, COLUMNS]
        rows = frame["speaker"] == speaker
        expected = (frame.loc[rows, COLUMNS] - values.mean()) / values.std()
        assert np.allclose(z[rows].to_numpy(), expected.to_numpy())


def test_streamed_moments_read_each_corpus_against_itself_as_the_whole_table_does() -> None:
    frame = _two_corpora().sample(frac=1.0, random_state=0)
    moments = SpeakerMoments(COLUMNS)
    for start in range(0, len(frame), 4):
        moments.add(frame.iloc[start : start + 4])
    pd.testing.assert_frame_equal(moments.zscores(frame, 5), normalize_by_speaker(frame, COLUMNS), check_exact=False)
