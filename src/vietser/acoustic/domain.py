"""Knowing when the acoustic model does not know, and class priors that differ from training.

:class:`OutOfDomainDetector` measures how far a clip's features lie from the
training clips: a robust Mahalanobis distance (minimum covariance determinant)
in a PCA space small enough for its covariance to be estimable from a few
hundred clips, plus what that space leaves out. ``ood_score`` divides it by
the training rows' distance at ``quantile``, so 1.0 is the edge of the
training data and 2.0 twice as far.
The fitted state is plain numbers (:meth:`OutOfDomainDetector.to_dict`), so a
run directory stays data and loading it executes no code; that state, and the
distances it gives without scikit-learn, are :class:`~vietser.acoustic.ood.DetectorState`.

Tempering towards a prior and the adjustment to deployment priors live in
:mod:`vietser.acoustic.priors`.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, clone
from sklearn.covariance import EmpiricalCovariance, MinCovDet
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from vietser.acoustic.ood import STATE_FIELDS, DetectorState, TrainingDomain, finite_or_nan
from vietser.errors import ConfigError, ModelError
from vietser.acoustic.priors import (  # re-exported for callers of the old home
    PriorEstimate,
    TargetPriors,
    adjust_to_priors,
    estimate_priors_em,
    parse_priors,
    temper,
)

__all__ = [
    "OutOfDomainDetector",
    "PriorEstimate",
    "TargetPriors",
    "adjust_to_priors",
    "estimate_priors_em",
    "parse_priors",
    "temper",
]

# PCA components with less variance than this fraction of the largest make the covariance singular.
_MIN_RELATIVE_VARIANCE = 1e-10
# Above this condition number the MCD covariance is not trusted and the empirical one is used.
_MAX_CONDITION = 1e10
_THRESHOLD_FOLDS = 5


class OutOfDomainDetector(BaseEstimator):
    """Distance of feature rows from the training rows, robust where the data allow it.

    Fitting median-imputes missing values (non-finite values count as
    missing; a column missing in every training row is ignored),
    standardises, and keeps the PCA components that explain
    ``n_components`` of the variance (that many components when it is an
    integer). Within them the distance is the Mahalanobis distance under a
    robust location and covariance (:class:`~sklearn.covariance.MinCovDet`,
    ``support_fraction`` as there; the empirical covariance when MCD fails or
    is ill-conditioned, and ``covariance_estimator_`` says which). What the
    components leave out adds its squared length over the mean variance left
    out per column (as in probabilistic PCA), so a clip that moves off the
    training data's principal subspace is not missed.

    ``threshold_`` is the ``quantile`` of the training rows' distances, each
    measured by a detector fitted on the other four fifths of the rows: with
    ~100 columns and a few hundred rows, in-sample distances understate those
    of new clips enough to flag several percent of in-domain clips.
    """

    def __init__(
        self,
        n_components: int | float = 0.95,
        support_fraction: float | None = None,
        quantile: float = 0.99,
        random_state: int = 0,
    ) -> None:
        self.n_components = n_components
        self.support_fraction = support_fraction
        self.quantile = quantile
        self.random_state = random_state

    def fit(self, X: ArrayLike, y: object = None) -> OutOfDomainDetector:
        """Learn the training distribution and its distance threshold; ``y`` is ignored.

        Raises:
            ConfigError: a parameter is out of range.
            ModelError: fewer than 10 rows, or the rows do not vary.
        """
        self._check_params()
        features = finite_or_nan(X)
        n_rows = features.shape[0]
        if n_rows < 2 * _THRESHOLD_FOLDS:
            raise ModelError(
                f"the out-of-domain detector needs at least {2 * _THRESHOLD_FOLDS} training rows, got {n_rows}"
            )
        self._fit_distribution(features)
        folds = KFold(n_splits=_THRESHOLD_FOLDS, shuffle=True, random_state=self.random_state)
        held_out = [
            clone(self)._fit_distribution(features[train])._distances(features[test])
            for train, test in folds.split(features)
        ]
        self.threshold_ = float(np.quantile(np.concatenate(held_out), self.quantile))
        if not self.threshold_ > 0:
            raise ModelError("the out-of-domain detector's training rows are all at the same point")
        return self

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Distance of each row from the training rows (missing values take the training medians).

        Raises:
            sklearn.exceptions.NotFittedError: the detector is not fitted.
            ModelError: the rows do not have the training number of columns.
        """
        check_is_fitted(self, "threshold_")
        return self._state().score_samples(X)

    def ood_score(self, X: ArrayLike) -> np.ndarray:
        """Distance of each row over ``threshold_``: 1.0 is the edge of the training rows' ``quantile``.

        Raises:
            sklearn.exceptions.NotFittedError: the detector is not fitted.
            ModelError: the rows do not have the training number of columns.
        """
        check_is_fitted(self, "threshold_")
        return self._state().ood_score(X)

    def is_out_of_domain(self, X: ArrayLike, margin: float = 1.0) -> np.ndarray:
        """Whether each row's ``ood_score`` exceeds ``margin``.

        Raises:
            sklearn.exceptions.NotFittedError: the detector is not fitted.
            ModelError: the rows do not have the training number of columns.
        """
        return self.ood_score(X) > margin

    def to_dict(self) -> dict[str, Any]:
        """The parameters and fitted state as JSON-safe lists and numbers.

        Raises:
            sklearn.exceptions.NotFittedError: the detector is not fitted.
        """
        check_is_fitted(self, "threshold_")
        return {**self._state().to_dict(), "params": self.get_params()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutOfDomainDetector:
        """Rebuild a fitted detector from :meth:`to_dict` output.

        Raises:
            ModelError: the data is not a detector of this format, or its arrays do not fit together.
        """
        state = DetectorState.from_dict(data)
        try:
            detector = cls(**data["params"])
            detector._check_params()
        except (KeyError, TypeError, ConfigError) as error:
            raise ModelError(f"out-of-domain detector data is incomplete or malformed: {error}") from error
        for name in STATE_FIELDS:
            setattr(detector, f"{name}_", getattr(state, name))
        return detector

    def _state(self, threshold: float | None = None) -> DetectorState:
        """The fitted state; ``threshold`` stands in for ``threshold_`` while the threshold folds are fitted."""
        state = {name: getattr(self, f"{name}_") for name in STATE_FIELDS if name != "threshold"}
        return DetectorState(**state, threshold=self.threshold_ if threshold is None else threshold)

    def _fit_distribution(self, features: np.ndarray) -> OutOfDomainDetector:
        columns = np.flatnonzero(~np.all(np.isnan(features), axis=0))
        used = features[:, columns]
        n_rows, n_used = used.shape
        imputer = SimpleImputer(strategy="median").fit(used)
        scaler = StandardScaler().fit(imputer.transform(used))
        scaled = scaler.transform(imputer.transform(used))
        if not np.any(scaled):
            raise ModelError(
                "the out-of-domain detector's training rows (or the four fifths of them a threshold fold "
                "is fitted on) are all alike or all missing"
            )
        n_components = (
            min(int(self.n_components), n_rows, n_used)
            if isinstance(self.n_components, Integral)
            else float(self.n_components)
        )
        pca = PCA(n_components=n_components, svd_solver="full").fit(scaled)
        floor = _MIN_RELATIVE_VARIANCE * pca.explained_variance_[0]
        components = pca.components_[pca.explained_variance_ > floor]
        centred = scaled - pca.mean_
        projected = centred @ components.T
        residual = centred - projected @ components
        residual_variance = float(np.sum(residual**2)) / (n_rows * max(n_used - len(components), 1))

        self.n_features_in_ = features.shape[1]
        self.columns_ = columns
        self.impute_statistics_ = imputer.statistics_.astype(np.float64)
        self.scale_mean_ = scaler.mean_.astype(np.float64)
        self.scale_scale_ = scaler.scale_.astype(np.float64)
        self.pca_mean_ = pca.mean_.astype(np.float64)
        self.components_ = components.astype(np.float64)
        self.location_, self.precision_, self.covariance_estimator_ = self._robust_covariance(projected)
        self.residual_precision_ = 1.0 / max(residual_variance, float(floor))
        return self

    def _distances(self, features: np.ndarray) -> np.ndarray:
        return self._state(threshold=1.0).distances(features)

    def _check_params(self) -> None:
        n = self.n_components
        if isinstance(n, bool) or not (
            (isinstance(n, Integral) and n >= 1) or (isinstance(n, Real) and 0.0 < n < 1.0)
        ):
            raise ConfigError(f"n_components must be an integer >= 1 or a fraction in (0, 1), got {n!r}")
        fraction = self.support_fraction
        if fraction is not None and not 0.0 < fraction <= 1.0:
            raise ConfigError(f"support_fraction must be in (0, 1] or None, got {fraction!r}")
        if not 0.0 < self.quantile <= 1.0:
            raise ConfigError(f"quantile must be in (0, 1], got {self.quantile!r}")

    def _robust_covariance(self, projected: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                mcd = MinCovDet(support_fraction=self.support_fraction, random_state=self.random_state).fit(projected)
            if np.all(np.isfinite(mcd.covariance_)) and np.linalg.cond(mcd.covariance_) < _MAX_CONDITION:
                return mcd.location_.astype(np.float64), mcd.precision_.astype(np.float64), "mcd"
        except (ValueError, ArithmeticError, Warning):
            pass
        empirical = EmpiricalCovariance().fit(projected)
        return empirical.location_.astype(np.float64), empirical.precision_.astype(np.float64), "empirical"


def training_domain(X: np.ndarray, columns: list[str], probabilities: np.ndarray, seed: int) -> TrainingDomain:
    """The detector fitted on training rows ``X`` (its ``columns``), and the model's mean posterior over them."""
    detector = OutOfDomainDetector(random_state=seed).fit(X)
    return TrainingDomain(columns=columns, detector=detector.to_dict(), class_prior=probabilities.mean(axis=0).tolist())
