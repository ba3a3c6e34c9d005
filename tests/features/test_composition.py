"""Speaker baselines that mean the same whatever a speaker's clips hold: spread columns and calm-share copies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.acoustic.frames import AROUSAL_COLUMNS as COLUMNS
from tests.acoustic.frames import arousal_corpus
from vietser.acoustic import AcousticConfig, AcousticModel
from vietser.features.catalog import SPREAD_FEATURES, SPREAD_PREFIX, Z_PREFIX
from vietser.features.normalize import (
    CorpusStats,
    anchored_to_calm,
    composition_copies,
    normalize_by_speaker,
    reference_stats,
)
from vietser.features.speaker_stats import SpeakerMoments

def test_spread_columns_are_the_log_std_of_each_speakers_clips_and_nan_without_a_baseline() -> None:
    frame = arousal_corpus(n_speakers=2)
    frame.loc[0, "speaker"] = ""  # one clip of unknown speaker: corpus baseline
    normalised = normalize_by_speaker(frame, COLUMNS)
    spread = [SPREAD_PREFIX + c for c in SPREAD_FEATURES[:4]]
    assert [c for c in normalised.columns if c.startswith(SPREAD_PREFIX)] == spread
    own = frame["speaker"] == "s01"
    expected = np.log(frame.loc[own, SPREAD_FEATURES[0]].std(ddof=1))
    assert np.allclose(normalised.loc[own, spread[0]], expected)
    assert normalised.loc[0, spread].isna().all()


def test_spread_ignores_a_recording_gain_on_db_columns() -> None:
    frame = arousal_corpus(n_speakers=3)
    louder = frame.assign(**{c: frame[c] + 12.0 for c in SPREAD_FEATURES[:4]})
    spread = [SPREAD_PREFIX + c for c in SPREAD_FEATURES[:4]]
    assert np.allclose(normalize_by_speaker(frame, COLUMNS)[spread], normalize_by_speaker(louder, COLUMNS)[spread])


def test_streamed_moments_give_the_same_spread_as_the_whole_table() -> None:
    frame = arousal_corpus(n_speakers=3)
    moments = SpeakerMoments(COLUMNS)
    for start in range(0, len(frame), 17):
        moments.add(frame.iloc[start : start + 17])
    pd.testing.assert_frame_equal(moments.zscores(frame, 5), normalize_by_speaker(frame, COLUMNS), check_exact=False)


@pytest.mark.parametrize(("share", "calm", "aroused"), [(1.0, 12, 0), (0.6, 12, 8), (0.25, 5, 16)])
def test_copies_hold_the_requested_calm_share_and_are_normalised_on_their_own(
    share: float, calm: int, aroused: int
) -> None:
    frame = arousal_corpus(n_speakers=2, calm=12, aroused=8)
    copies = composition_copies(frame, COLUMNS, calm_shares=(share,), seed=0)
    for speaker in ("s00", "s01"):
        rows = copies[copies["speaker"] == speaker]
        assert (rows["label"] == "calm").sum() == calm and (rows["label"] != "calm").sum() == aroused
        assert np.isclose(rows[Z_PREFIX + COLUMNS[0]].mean(), 0.0, atol=1e-9)
        assert rows["clip_id"].is_unique and set(rows["clip_id"]) <= set(frame["clip_id"])
    pd.testing.assert_frame_equal(copies, composition_copies(frame, COLUMNS, calm_shares=(share,), seed=0))


def test_calm_share_copies_let_a_speaker_calm_in_every_clip_be_read_as_calm() -> None:
    train = arousal_corpus(n_speakers=12, seed=1)
    held_out = arousal_corpus(n_speakers=6, seed=2)
    calm_only = held_out[held_out["label"] == "calm"][["clip_id", "speaker", "label", *COLUMNS]]
    calm_only = pd.concat([calm_only, normalize_by_speaker(calm_only, COLUMNS)], axis=1)
    config = AcousticConfig(feature_set="both", late_fusion=(), measure_calibration=False, cv_folds=3)
    copies = config.model_copy(update={"calm_shares": (1.0, 0.8, 0.6, 0.25)})

    with_copies = AcousticModel(copies).fit(train).predict(calm_only)
    without = AcousticModel(config).fit(train).predict(calm_only)

    assert np.mean(with_copies == "calm") >= 0.85
    assert np.mean(without == "calm") < 0.7
    mixed = held_out.assign(split="test")
    assert np.mean(AcousticModel(copies).fit(train).predict(mixed) == mixed["label"]) > 0.75


def test_a_reference_is_moved_onto_the_calm_statistics() -> None:
    frame = arousal_corpus(n_speakers=1)
    reference = frame[frame["label"] == "calm"]
    calm = CorpusStats(mean={c: 10.0 for c in COLUMNS}, std={c: 2.0 for c in COLUMNS})
    moved = anchored_to_calm(reference, reference_stats(reference, COLUMNS), calm, COLUMNS)
    np.testing.assert_allclose(moved.mean(), 10.0)
    np.testing.assert_allclose(moved.std(ddof=1), 2.0)
    aroused = anchored_to_calm(frame[frame["label"] != "calm"], reference_stats(reference, COLUMNS), calm, COLUMNS)
    assert (aroused[COLUMNS[0]].mean() - 10.0) / 2.0 > 0.5  # a departure from the reference keeps its size
    with pytest.raises(Exception, match="at least 2"):
        reference_stats(reference.iloc[:1], COLUMNS)