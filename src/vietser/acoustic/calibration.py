"""Probabilities in CLASSES order, their calibration, and calibration metrics.

Calibration defaults to temperature scaling: one parameter, so it cannot
overfit the few hundred clips of a typical train split; multiclass by nature
(no one-vs-rest renormalisation); and it never changes the predicted class, so
the model chosen by cross-validation is exactly the model that is deployed. It
is fitted on out-of-fold scores from speaker-grouped folds, which is what
corrects the overconfidence a model shows on unseen speakers. ``sigmoid``
(Platt, one-vs-rest) and ``isotonic`` are available for larger data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV

from vietser.acoustic.config import CalibrationMethod
from vietser.errors import ModelError
from vietser.evaluate.calibration import brier_score, expected_calibration_error
from vietser import labels as labels_module
from vietser.labels import CLASSES

Splits = list[tuple[np.ndarray, np.ndarray]]


def label_indices(labels: Sequence[str] | np.ndarray) -> np.ndarray:
    """Positions of labels in CLASSES.

    Raises:
        ModelError: a label is not one of CLASSES.
    """
    try:
        return labels_module.label_indices(labels)
    except ValueError as exc:
        raise ModelError(str(exc)) from exc


def fit_calibrated(
    pipeline: ClassifierMixin, X: np.ndarray, y: np.ndarray, splits: Splits, method: CalibrationMethod
) -> ClassifierMixin:
    """Fit ``pipeline`` on all of X, and its calibrator on out-of-fold scores from ``splits``."""
    if method is CalibrationMethod.NONE:
        return clone(pipeline).fit(X, y)
    # ensemble=False: one model trained on the whole train split, one calibrator
    # fitted on all out-of-fold scores (rather than k models, each calibrated on one fold).
    calibrated = CalibratedClassifierCV(clone(pipeline), method=method.value, cv=splits, ensemble=False)
    return calibrated.fit(X, y)
