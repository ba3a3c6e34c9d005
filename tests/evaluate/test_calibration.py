"""Reliability bins, expected calibration error and Brier score."""

from __future__ import annotations

import numpy as np
import pytest

from vietser.evaluate.calibration import brier_score, expected_calibration_error, reliability_bins


def test_confident_and_right_is_perfectly_calibrated() -> None:
    probabilities = np.eye(3)[[0, 1, 2, 1]]
    labels = ["calm", "angry", "panic", "angry"]
    assert expected_calibration_error(probabilities, labels) == 0.0
    assert brier_score(probabilities, labels) == 0.0


def test_confident_and_wrong_is_maximally_miscalibrated() -> None:
    probabilities = np.eye(3)[[1, 2]]
    labels = ["calm", "calm"]
    assert expected_calibration_error(probabilities, labels) == pytest.approx(1.0)
    assert brier_score(probabilities, labels) == pytest.approx(2.0)


def test_uniform_probabilities_have_brier_two_thirds() -> None:
    assert brier_score(np.full((4, 3), 1 / 3), ["calm", "angry", "panic", "calm"]) == pytest.approx(2 / 3)


def test_bins_group_clips_by_confidence() -> None:
    probabilities = np.array([[0.9, 0.05, 0.05], [0.95, 0.03, 0.02], [0.5, 0.3, 0.2], [0.2, 0.45, 0.35]])
    bins = reliability_bins(probabilities, ["calm", "angry", "calm", "angry"], n_bins=10)
    assert bins.count.tolist() == [2, 1, 1]
    np.testing.assert_allclose(bins.confidence, [0.475, 0.9, 0.95])
    np.testing.assert_allclose(bins.accuracy, [1.0, 1.0, 0.0])


def test_probabilities_must_match_labels() -> None:
    with pytest.raises(ValueError, match="one row per clip"):
        brier_score(np.full((3, 3), 1 / 3), ["calm"])
