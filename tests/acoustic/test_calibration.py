from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tests.acoustic.frames import FrameMaker, train_rows
from vietser.acoustic import (
    AcousticConfig,
    AcousticModel,
    ModelKind,
    brier_score,
    expected_calibration_error,
    predict_proba,
)
from vietser.acoustic.calibration import label_indices
from vietser.acoustic.inference import class_probabilities, feature_matrix
from vietser.acoustic.models import build_pipeline
from vietser.errors import ModelError


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    probabilities = np.tile([0.8, 0.1, 0.1], (10, 1))
    labels = ["calm"] * 8 + ["angry"] * 2

    assert expected_calibration_error(probabilities, labels) == pytest.approx(0.0)


def test_ece_of_certain_predictions_right_half_the_time_is_one_half() -> None:
    probabilities = np.tile([0.0, 1.0, 0.0], (4, 1))

    assert expected_calibration_error(probabilities, ["angry", "calm", "angry", "panic"]) == pytest.approx(0.5)


def test_brier_score_is_zero_for_certain_right_and_two_for_certain_wrong() -> None:
    probabilities = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])

    assert brier_score(probabilities, ["calm", "calm"]) == pytest.approx(1.0)
    assert brier_score(probabilities[:1], ["calm"]) == pytest.approx(0.0)
    assert brier_score(probabilities[1:], ["calm"]) == pytest.approx(2.0)


def test_labels_outside_the_classes_are_refused() -> None:
    with pytest.raises(ModelError, match="happy"):
        label_indices(["calm", "happy"])


def test_class_the_estimator_never_saw_gets_a_zero_column() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = np.where(X[:, 0] > 0, "panic", "calm")
    probabilities = class_probabilities(LogisticRegression().fit(X, y), X)

    assert probabilities.shape == (40, 3)
    assert np.all(probabilities[:, 1] == 0.0)
    assert np.allclose(probabilities.sum(axis=1), 1.0)


def test_out_of_fold_calibration_report_shows_lower_ece_for_an_svm(feature_frame: FrameMaker) -> None:
    model = AcousticModel(AcousticConfig(model="svm-linear", calibration="temperature")).fit(train_rows(feature_frame()))
    report = model.calibration_

    assert report is not None
    assert report.n_clips == 210
    assert report.ece_after < report.ece_before


def test_temperature_scaling_lowers_ece_on_held_out_speakers(feature_frame: FrameMaker) -> None:
    frame = feature_frame(n_speakers=20, clips_per_speaker=30, class_sep=0.8)
    train, held_out = frame[frame["split"] == "train"], frame[frame["split"] != "train"]
    model = AcousticModel(AcousticConfig(model="svm-linear", calibration="temperature", cv_folds=3, late_fusion=()))
    model.fit(train)
    columns = model.feature_columns_
    uncalibrated = build_pipeline(ModelKind.SVM_LINEAR).set_params(**model.cv_.best_params)
    uncalibrated.fit(feature_matrix(train, columns), train["label"].astype(str))

    raw_probabilities = class_probabilities(uncalibrated, feature_matrix(held_out, columns))
    ece_raw = expected_calibration_error(raw_probabilities, held_out["label"])
    ece_calibrated = expected_calibration_error(predict_proba(model, held_out), held_out["label"])

    assert ece_calibrated < ece_raw
