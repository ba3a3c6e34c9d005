"""Late fusion: one classifier per feature view, class probabilities averaged.

Concatenating a small interpretable set (eGeMAPS + prosody, ~100 values) with a
wide one (emobase, ~1000) under one regularisation strength lets the wide set
dominate; a model per view, each tuned on its own, keeps both voices. On
RAVDESS (6-fold leave-speakers-out) the fused logistic regressions beat either
view alone — see docs/design.md.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from vietser.acoustic.inference import estimator_probabilities

View = tuple[str, ClassifierMixin, list[int]]


class LateFusion(ClassifierMixin, BaseEstimator):
    """Mean class probability of one model per view.

    Args:
        views: ``(name, estimator, column positions)`` per view; each estimator reads only
            its columns of the matrix passed to ``fit`` / ``predict_proba``.
    """

    def __init__(self, views: list[View]) -> None:
        self.views = views

    def fit(self, X: np.ndarray, y: np.ndarray) -> LateFusion:
        self.estimators_ = [clone(estimator).fit(X[:, columns], y) for _, estimator, columns in self.views]
        self.classes_ = self.estimators_[0].classes_
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities in ``classes_`` order (every view was fitted on the same labels): the mean over views."""
        per_view = [
            estimator_probabilities(estimator, X[:, columns])
            for estimator, (_, _, columns) in zip(self.estimators_, self.views)
        ]
        return np.mean(per_view, axis=0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
