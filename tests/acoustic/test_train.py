from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_predict

from tests.acoustic.frames import FrameMaker, train_rows
from vietser.acoustic import AcousticConfig, AcousticModel, predict_proba, speaker_folds
from vietser.acoustic import search as acoustic_search
from vietser.data.channel import copy_name
from vietser.errors import ModelError
from vietser.features.normalize import CorpusStats
from vietser.labels import CLASSES
from vietser.rules.fit import oof_probabilities

# One model on eGeMAPS + prosody; late fusion has its own tests (test_fusion.py).
FAST = AcousticConfig(measure_calibration=False, cv_folds=3, late_fusion=())


def test_speaker_folds_hold_out_every_speaker_exactly_once(feature_frame: FrameMaker) -> None:
    frame = feature_frame()
    speakers = frame["speaker"].to_numpy(dtype=str)
    folds = speaker_folds(frame["label"].to_numpy(dtype=str), speakers, n_splits=5, seed=0)

    held_out = [set(speakers[test]) for _, test in folds]
    assert all(not (set(speakers[train]) & set(speakers[test])) for train, test in folds)
    assert sum(len(s) for s in held_out) == len(set(speakers))
    assert set().union(*held_out) == set(speakers)


def test_training_cv_never_puts_a_speaker_in_two_folds(feature_frame: FrameMaker) -> None:
    frame = feature_frame()
    model = AcousticModel(AcousticConfig(cv_folds=4, measure_calibration=False)).fit(train_rows(frame))

    fold_speakers = [set(speakers) for speakers in model.cv_.fold_speakers]
    assert len(fold_speakers) == 4
    assert sum(len(s) for s in fold_speakers) == len(set().union(*fold_speakers))
    assert set().union(*fold_speakers) == set(frame.loc[frame["split"] == "train", "speaker"])


def test_training_cv_holds_out_a_speakers_channel_copies_with_the_speaker(feature_frame: FrameMaker) -> None:
    rows = train_rows(feature_frame())
    copies = rows.assign(
        speaker=[copy_name(s, "telephone") for s in rows["speaker"]],
        clip_id=[copy_name(c, "telephone") for c in rows["clip_id"]],
    )
    model = AcousticModel(AcousticConfig(cv_folds=4, measure_calibration=False)).fit(pd.concat([rows, copies]))

    fold_speakers = [set(speakers) for speakers in model.cv_.fold_speakers]
    assert set().union(*fold_speakers) == set(rows["speaker"])
    assert sum(len(s) for s in fold_speakers) == rows["speaker"].nunique()


def test_probabilities_sum_to_one_with_columns_in_classes_order(feature_frame: FrameMaker) -> None:
    frame = feature_frame(class_sep=3.0)
    held_out = frame[frame["split"] == "test"]
    probabilities = predict_proba(AcousticModel(FAST).fit(train_rows(frame)), held_out)

    assert probabilities.shape == (len(held_out), len(CLASSES))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    truth = held_out["label"].map(CLASSES.index).to_numpy()
    assert np.mean(probabilities.argmax(axis=1) == truth) > 0.9


def test_class_absent_from_train_gets_zero_probability(feature_frame: FrameMaker) -> None:
    frame = feature_frame()
    frame = frame[~((frame["split"] == "train") & (frame["label"] == "angry"))]

    probabilities = predict_proba(AcousticModel(FAST).fit(train_rows(frame)), frame[frame["split"] == "test"])

    assert np.all(probabilities[:, CLASSES.index("angry")] == 0.0)
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_predict_returns_class_names(feature_frame: FrameMaker) -> None:
    frame = feature_frame()
    model = AcousticModel(FAST).fit(train_rows(frame))

    assert set(model.predict(frame)) <= set(CLASSES)


def test_cv_result_reports_the_kept_candidate(feature_frame: FrameMaker) -> None:
    model = AcousticModel(FAST).fit(train_rows(feature_frame()))
    kept = next(c for c in model.cv_.candidates if c.params == model.cv_.best_params)
    top = max(model.cv_.candidates, key=lambda c: c.macro_f1_mean)

    assert model.cv_.macro_f1_mean == kept.macro_f1_mean
    # the kept one is the top one or a more strongly regularised one listed before it
    assert model.cv_.candidates.index(kept) <= model.cv_.candidates.index(top)


def test_corpus_normalisation_reads_raw_columns(feature_frame: FrameMaker) -> None:
    config = AcousticConfig(
        feature_set="prosody", normalisation="corpus", measure_calibration=False, cv_folds=3, late_fusion=()
    )

    model = AcousticModel(config).fit(train_rows(feature_frame()))

    assert model.feature_columns_ == ["prosody.p0", "prosody.p1", "prosody.p2", "prosody.p3"]


def test_missing_values_are_imputed(feature_frame: FrameMaker) -> None:
    frame = feature_frame()
    frame.loc[frame.index[::7], "z.egemaps.f0"] = np.nan

    probabilities = predict_proba(AcousticModel(FAST).fit(train_rows(frame)), frame)

    assert np.all(np.isfinite(probabilities))


def test_fit_learns_from_the_rows_given_whatever_their_split(feature_frame: FrameMaker) -> None:
    train = train_rows(feature_frame())
    relabelled = train.assign(split="test")
    model = AcousticModel(FAST).fit(train)

    for rows in (relabelled, train.drop(columns="split")):
        other = AcousticModel(FAST).fit(rows)
        assert other.train_data_sha256_ == model.train_data_sha256_
        assert np.array_equal(other.predict_proba(train), model.predict_proba(train))


def test_labels_and_speakers_can_be_given_beside_the_table(feature_frame: FrameMaker) -> None:
    train = train_rows(feature_frame())
    model = AcousticModel(FAST).fit(train)

    given = AcousticModel(FAST).fit(train.drop(columns=["label", "speaker"]), train["label"], groups=train["speaker"])

    assert given.train_data_sha256_ == model.train_data_sha256_
    assert given.cv_.fold_speakers == model.cv_.fold_speakers
    assert np.array_equal(given.predict_proba(train), model.predict_proba(train))


def test_table_without_labels_is_refused(feature_frame: FrameMaker) -> None:
    with pytest.raises(ModelError, match="y="):
        AcousticModel(FAST).fit(train_rows(feature_frame()).drop(columns="label"))


def test_integer_labels_are_refused(feature_frame: FrameMaker) -> None:
    train = train_rows(feature_frame())
    codes = train["label"].map(CLASSES.index)

    with pytest.raises(ModelError, match="0"):
        AcousticModel(FAST).fit(train, codes)


def test_clone_keeps_the_parameters_and_drops_the_fitted_state(feature_frame: FrameMaker) -> None:
    stats = {"mean": {"egemaps.f0": 1.0}, "std": {"egemaps.f0": 2.0}}
    reference = CorpusStats(mean={"egemaps.f0": 3.0}, std={"egemaps.f0": 1.0})
    model = AcousticModel(FAST, corpus_stats=stats, reference=reference).fit(train_rows(feature_frame()))

    copy = clone(model)

    assert copy.get_params() == {"config": FAST, "corpus_stats": stats, "tuned": None, "reference": reference}
    assert not hasattr(copy, "estimator_")
    with pytest.raises(NotFittedError):
        copy.predict_proba(feature_frame())
    other = AcousticModel().set_params(**model.get_params())
    assert other.get_params() == model.get_params()


def test_cross_val_predict_gives_each_clip_a_model_that_never_heard_its_speaker(feature_frame: FrameMaker) -> None:
    train = train_rows(feature_frame())
    labels, speakers = train["label"].to_numpy(dtype=str), train["speaker"].to_numpy(dtype=str)
    folds = speaker_folds(labels, speakers, n_splits=3, seed=0)

    out_of_fold = cross_val_predict(AcousticModel(FAST), train, cv=folds, method="predict_proba")

    for fit_rows, held_out in folds:
        fold_model = AcousticModel(FAST).fit(train.iloc[fit_rows])
        assert np.array_equal(out_of_fold[held_out], fold_model.predict_proba(train.iloc[held_out]))
    assert np.allclose(out_of_fold.sum(axis=1), 1.0)
    assert np.array_equal(oof_probabilities(train, FAST, n_folds=3), out_of_fold)


def test_unknown_label_is_refused(feature_frame: FrameMaker) -> None:
    frame = feature_frame()
    frame.loc[frame.index[0], "label"] = "happy"
    frame.loc[frame.index[0], "split"] = "train"

    with pytest.raises(ModelError, match="happy"):
        AcousticModel(FAST).fit(train_rows(frame))


def test_single_train_speaker_is_refused(feature_frame: FrameMaker) -> None:
    frame = feature_frame()
    first = frame.loc[frame["split"] == "train", "speaker"].iloc[0]
    frame.loc[(frame["split"] == "train") & (frame["speaker"] != first), "split"] = "dev"

    with pytest.raises(ModelError, match="at least 2 speakers"):
        AcousticModel(FAST).fit(train_rows(frame))


def test_prediction_on_table_without_model_columns_names_them(feature_frame: FrameMaker) -> None:
    frame = feature_frame()
    model = AcousticModel(FAST).fit(train_rows(frame))

    with pytest.raises(ModelError, match="z.egemaps.f0"):
        predict_proba(model, frame.drop(columns="z.egemaps.f0"))


def test_folds_whose_training_speakers_lack_a_class_are_refused() -> None:
    labels = np.repeat(["calm", "angry", "panic"], 4)
    speakers = np.repeat(["a", "b", "c"], 4)

    with pytest.raises(ModelError, match="too few speakers carry that class"):
        speaker_folds(labels, speakers, n_splits=3, seed=0)


def test_more_folds_than_clips_per_class_is_refused() -> None:
    labels = np.array(["calm", "angry", "panic"] * 2)
    speakers = np.array(["a", "b", "c", "d", "e", "f"])

    with pytest.raises(ModelError, match="lower cv_folds"):
        speaker_folds(labels, speakers, n_splits=3, seed=0)


def _no_search(*args: object, **kwargs: object) -> None:
    raise AssertionError("searched the hyperparameters again")


@pytest.mark.parametrize("config", [FAST, AcousticConfig(measure_calibration=False, cv_folds=3)], ids=["one view", "fused"])
def test_a_model_given_a_search_reuses_its_hyperparameters_and_does_not_search(
    feature_frame: FrameMaker, monkeypatch: pytest.MonkeyPatch, config: AcousticConfig
) -> None:
    train = train_rows(feature_frame())
    searched = AcousticModel(config).fit(train)
    monkeypatch.setattr(acoustic_search, "search_hyperparameters", _no_search)

    reused = AcousticModel(config, tuned=searched.cv_).fit(train)

    assert reused.cv_ == searched.cv_
    assert np.array_equal(reused.predict_proba(train), searched.predict_proba(train))
    refit = AcousticModel(config, tuned=searched.cv_).fit(train[train["speaker"] != train["speaker"].iloc[0]])
    assert refit.cv_ == searched.cv_


def test_fold_models_reuse_a_search_given_to_the_out_of_fold_probabilities(
    feature_frame: FrameMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    train = train_rows(feature_frame())
    searched = AcousticModel(FAST).fit(train)
    monkeypatch.setattr(acoustic_search, "search_hyperparameters", _no_search)

    reused = oof_probabilities(train, FAST, n_folds=3, tuned=searched.cv_)

    labels, speakers = train["label"].to_numpy(dtype=str), train["speaker"].to_numpy(dtype=str)
    for fit_rows, held_out in speaker_folds(labels, speakers, n_splits=3, seed=0):
        fold_model = AcousticModel(FAST, tuned=searched.cv_).fit(train.iloc[fit_rows])
        assert np.array_equal(reused[held_out], fold_model.predict_proba(train.iloc[held_out]))


def test_a_search_of_another_model_kind_is_refused(feature_frame: FrameMaker) -> None:
    train = train_rows(feature_frame())
    searched = AcousticModel(FAST).fit(train)

    with pytest.raises(ModelError, match="same configuration"):
        other_kind = AcousticConfig(model="hgb", measure_calibration=False, cv_folds=3, late_fusion=())
        AcousticModel(other_kind, tuned=searched.cv_).fit(train)
