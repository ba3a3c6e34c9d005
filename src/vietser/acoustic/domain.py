"""Knowing when the acoustic model does not know, and class priors that differ from training.

:class:`OutOfDomainDetector` measures how far a clip's features lie from the
training clips: a robust Mahalanobis distance (minimum covariance determinant)
in a PCA space small enough for its covariance to be estimable from a few
hundred clips, plus what that space leaves out. ``ood_score`` divides it by
the training rows' distance at ``quantile``, so 1.0 is the edge of the
training data and 2.0 twice as far.
The fitted state is plain numbers (:meth:`OutOfDomainDetector.to_dict`), so a
run directory stays data and loading it executes no code.

:func:`temper` uses that score so that an out-of-domain clip is never reported
with high confidence: its probabilities are mixed towards a prior, fully so
far from the training data.

:func:`adjust_to_priors` and :func:`estimate_priors_em` correct calibrated
posteriors for a deployment whose class frequencies differ from training
(mostly calm calls, few panics), after M. Saerens, P. Latinne and
C. Decaestecker (2002), "Adjusting the outputs of a classifier to new a priori
probabilities: a simple procedure", Neural Computation 14(1), 21-41: the
first when the deployment prior is known (:func:`parse_priors` reads it from
the command line), the second estimates it from unlabelled deployment
posteriors by expectation-maximisation.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, PrivateAttr
from sklearn.base import BaseEstimator, clone
from sklearn.covariance import EmpiricalCovariance, MinCovDet
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from vietser.errors import ConfigError, ModelError
from vietser.labels import CLASSES

FORMAT = "vietser.ood-detector"
FORMAT_VERSION = 1
# PCA components with less variance than this fraction of the largest make the covariance singular.
_MIN_RELATIVE_VARIANCE = 1e-10
# Above this condition number the MCD covariance is not trusted and the empirical one is used.
_MAX_CONDITION = 1e10
_PRIOR_SUM_TOLERANCE = 1e-6
# Deployment class priors: stated (one value per class), "auto" (estimated by EM from the clips), or none.
TargetPriors = np.ndarray | Literal["auto"] | None
_THRESHOLD_FOLDS = 5
_COVARIANCE_ESTIMATORS = ("mcd", "empirical")

_STATE_SHAPES: dict[str, str] = {
    "impute_statistics": "columns",
    "scale_mean": "columns",
    "scale_scale": "columns",
    "pca_mean": "columns",
    "components": "components x columns",
    "location": "components",
    "precision": "components x components",
}


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
        features = _finite_or_nan(X)
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
        features = _finite_or_nan(X)
        if features.shape[1] != self.n_features_in_:
            raise ModelError(
                f"the out-of-domain detector was fitted on {self.n_features_in_} columns, got {features.shape[1]}"
            )
        return self._distances(features)

    def ood_score(self, X: ArrayLike) -> np.ndarray:
        """Distance of each row over ``threshold_``: 1.0 is the edge of the training rows' ``quantile``.

        Raises:
            sklearn.exceptions.NotFittedError: the detector is not fitted.
            ModelError: the rows do not have the training number of columns.
        """
        return self.score_samples(X) / self.threshold_

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
        state = {name: getattr(self, f"{name}_").tolist() for name in _STATE_SHAPES}
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "params": self.get_params(),
            "n_features": self.n_features_in_,
            "columns": self.columns_.tolist(),
            "covariance_estimator": self.covariance_estimator_,
            "residual_precision": self.residual_precision_,
            "threshold": self.threshold_,
            **state,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutOfDomainDetector:
        """Rebuild a fitted detector from :meth:`to_dict` output.

        Raises:
            ModelError: the data is not a detector of this format, or its arrays do not fit together.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelError(f"not an out-of-domain detector: expected format {FORMAT!r}")
        if data.get("format_version") != FORMAT_VERSION:
            raise ModelError(
                f"out-of-domain detector format version {data.get('format_version')!r} is not {FORMAT_VERSION}"
            )
        try:
            detector = cls(**data["params"])
            detector._check_params()
            n_features = int(data["n_features"])
            columns = np.asarray(data["columns"], dtype=np.int64)
            arrays = {name: np.asarray(data[name], dtype=np.float64) for name in _STATE_SHAPES}
            threshold = float(data["threshold"])
            residual_precision = float(data["residual_precision"])
            estimator = str(data["covariance_estimator"])
        except (KeyError, TypeError, ValueError, ConfigError) as error:
            raise ModelError(f"out-of-domain detector data is incomplete or malformed: {error}") from error
        if estimator not in _COVARIANCE_ESTIMATORS:
            raise ModelError(f"out-of-domain detector covariance_estimator must be one of {_COVARIANCE_ESTIMATORS}")
        if n_features < 1:
            raise ModelError(f"out-of-domain detector n_features must be at least 1, got {n_features}")
        increasing = columns.ndim == 1 and len(columns) > 0 and bool(np.all(np.diff(columns) > 0))
        if not (increasing and 0 <= columns[0] and columns[-1] < n_features):
            raise ModelError(f"out-of-domain detector columns must be increasing indices below {n_features}")
        n_components = arrays["location"].shape[0] if arrays["location"].ndim == 1 else -1
        sizes = {"columns": len(columns), "components": n_components}
        for name, spec in _STATE_SHAPES.items():
            expected = tuple(sizes[part] for part in spec.split(" x "))
            if arrays[name].shape != expected or not np.all(np.isfinite(arrays[name])):
                raise ModelError(
                    f"out-of-domain detector field {name!r} has shape {arrays[name].shape}, expected finite {spec} "
                    f"{expected}"
                )
        for name, value in (("threshold", threshold), ("residual_precision", residual_precision)):
            if not (math.isfinite(value) and value > 0):
                raise ModelError(f"out-of-domain detector {name} must be a positive number, got {value}")
        detector.n_features_in_ = n_features
        detector.columns_ = columns
        for name, values in arrays.items():
            setattr(detector, f"{name}_", values)
        detector.covariance_estimator_ = estimator
        detector.residual_precision_ = residual_precision
        detector.threshold_ = threshold
        return detector

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
        used = features[:, self.columns_]
        filled = np.where(np.isnan(used), self.impute_statistics_, used)
        centred = (filled - self.scale_mean_) / self.scale_scale_ - self.pca_mean_
        projected = centred @ self.components_.T
        residual = centred - projected @ self.components_
        offset = projected - self.location_
        squared = np.einsum("ij,jk,ik->i", offset, self.precision_, offset)
        squared += self.residual_precision_ * np.sum(residual**2, axis=1)
        return np.sqrt(np.maximum(squared, 0.0))

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


def temper(
    probabilities: ArrayLike,
    ood_score: ArrayLike,
    prior: ArrayLike,
    start: float = 1.0,
    full: float = 3.0,
) -> np.ndarray:
    """Mix each row towards ``prior`` by λ = clip((ood − start) / (full − start), 0, 1).

    Rows with ``ood_score <= start`` are returned unchanged (renormalised),
    rows with ``ood_score >= full`` or a NaN score become ``prior``.

    Raises:
        ValueError: shapes disagree, ``full <= start``, or a probability or the prior is invalid.
    """
    if not full > start:
        raise ValueError(f"full ({full}) must be greater than start ({start})")
    rows = _probability_rows(probabilities)
    target = _distribution(prior, "prior", rows.shape[1])
    scores = np.asarray(ood_score, dtype=np.float64).reshape(-1)
    if scores.shape[0] != rows.shape[0]:
        raise ValueError(f"{scores.shape[0]} ood scores for {rows.shape[0]} probability rows")
    weight = np.nan_to_num(np.clip((scores - start) / (full - start), 0.0, 1.0), nan=1.0)[:, None]
    mixed = (1.0 - weight) * rows + weight * target
    return mixed / mixed.sum(axis=1, keepdims=True)


def adjust_to_priors(probabilities: ArrayLike, train_prior: ArrayLike, target_prior: ArrayLike) -> np.ndarray:
    """Posteriors under ``target_prior`` from posteriors under ``train_prior``: p' ∝ p · target / train.

    Raises:
        ValueError: shapes disagree, a prior is invalid or ``train_prior`` has a zero, or a row's
            whole probability is on classes whose target prior is zero.
    """
    rows = _probability_rows(probabilities)
    train = _distribution(train_prior, "train_prior", rows.shape[1])
    if np.any(train == 0):
        raise ValueError(f"train_prior must be positive for every class, got {train.tolist()}")
    target = _distribution(target_prior, "target_prior", rows.shape[1])
    return _reweight(rows, target / train)


@dataclass(frozen=True, eq=False)
class PriorEstimate:
    """Class priors estimated by :func:`estimate_priors_em` (read-only array, CLASSES order)."""

    priors: np.ndarray
    iterations: int
    converged: bool


def estimate_priors_em(
    probabilities: ArrayLike,
    train_prior: ArrayLike,
    max_iter: int = 100,
    tol: float = 1e-6,
) -> PriorEstimate:
    """Estimate the class priors of unlabelled rows by the EM of Saerens et al. (2002).

    ``probabilities`` must be calibrated posteriors of a classifier trained
    under ``train_prior``. Each step adjusts them to the current estimate and
    takes their mean as the next one; it stops when no prior moves by more
    than ``tol`` or after ``max_iter`` steps (``converged`` is then False).

    Raises:
        ValueError: no rows, shapes disagree, ``train_prior`` is invalid or has a zero,
            ``max_iter < 1`` or ``tol <= 0``.
    """
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    rows = _probability_rows(probabilities)
    if rows.shape[0] == 0:
        raise ValueError("cannot estimate priors from zero rows")
    train = _distribution(train_prior, "train_prior", rows.shape[1])
    if np.any(train == 0):
        raise ValueError(f"train_prior must be positive for every class, got {train.tolist()}")
    priors = train
    for iteration in range(1, max_iter + 1):
        updated = _reweight(rows, priors / train).mean(axis=0)
        step = float(np.max(np.abs(updated - priors)))
        priors = updated
        if step < tol:
            break
    priors.setflags(write=False)
    return PriorEstimate(priors=priors, iterations=iteration, converged=step < tol)


def parse_priors(text: str, classes: Sequence[str] = CLASSES) -> np.ndarray:
    """Read class priors such as ``"calm=0.9,angry=0.07,panic=0.03"`` into an array in ``classes`` order.

    Classes left out share what the given ones leave below 1 equally; the
    result is normalised to sum to 1.

    Raises:
        ConfigError: an item is not ``name=value``, a name is not a class or is repeated, a value
            is negative or not a number, the values sum above 1, or every prior is zero.
    """
    listed = ", ".join(classes)
    given: dict[str, float] = {}
    for item in text.split(","):
        name, separator, value_text = item.partition("=")
        name = name.strip()
        if not separator or not name:
            raise ConfigError(f"priors item {item.strip()!r} is not name=value (classes: {listed})")
        if name not in classes:
            raise ConfigError(f"unknown class {name!r} in priors; the classes are {listed}")
        if name in given:
            raise ConfigError(f"class {name!r} is given twice in priors")
        try:
            value = float(value_text)
        except ValueError:
            raise ConfigError(f"prior of {name!r} is not a number: {value_text.strip()!r}") from None
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"prior of {name!r} must be a non-negative number, got {value_text.strip()}")
        given[name] = value
    total = sum(given.values())
    if total > 1 + _PRIOR_SUM_TOLERANCE:
        raise ConfigError(f"priors sum to {total:g}, above 1; give fractions of 1 ({text!r})")
    missing = [name for name in classes if name not in given]
    share = (1.0 - total) / len(missing) if missing else 0.0
    priors = np.array([given.get(name, share) for name in classes], dtype=np.float64)
    priors = np.maximum(priors, 0.0)
    if not priors.sum() > 0:
        raise ConfigError(f"priors {text!r} are all zero")
    return priors / priors.sum()


def _finite_or_nan(X: ArrayLike) -> np.ndarray:
    features = np.array(X, dtype=np.float64)
    if features.ndim != 2:
        raise ModelError(f"the out-of-domain detector reads a 2-D table of features, got {features.ndim} dimensions")
    features[~np.isfinite(features)] = np.nan
    return features


def _probability_rows(probabilities: ArrayLike) -> np.ndarray:
    rows = np.asarray(probabilities, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"probabilities must be a 2-D array (rows x classes), got {rows.ndim} dimensions")
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise ValueError("probabilities must be finite and non-negative")
    sums = rows.sum(axis=1, keepdims=True)
    if np.any(sums == 0):
        raise ValueError("a probability row sums to zero")
    return rows / sums


def _distribution(values: ArrayLike, name: str, n_classes: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.shape[0] != n_classes:
        raise ValueError(f"{name} has {array.shape[0]} entries for {n_classes} classes")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or not array.sum() > 0:
        raise ValueError(f"{name} must be finite, non-negative and not all zero, got {array.tolist()}")
    return array / array.sum()


def _reweight(rows: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    weighted = rows * ratio
    sums = weighted.sum(axis=1, keepdims=True)
    if np.any(sums == 0):
        raise ValueError("a probability row has all its mass on classes whose target prior is zero")
    return weighted / sums


class TrainingDomain(BaseModel):
    """What a trained model knows of the data it was trained on, kept in its sidecar as plain numbers.

    ``columns`` are the evidence columns the detector reads (speaker-normalised eGeMAPS + prosody);
    ``class_prior`` is the model's mean posterior over its training clips — what it says of a
    clip it knows nothing about, and the prior its posteriors are adjusted from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[str]
    detector: dict[str, Any]
    class_prior: list[float]
    _fitted: OutOfDomainDetector | None = PrivateAttr(default=None)

    @classmethod
    def fit(cls, X: np.ndarray, columns: list[str], probabilities: np.ndarray, seed: int) -> TrainingDomain:
        detector = OutOfDomainDetector(random_state=seed).fit(X)
        return cls(columns=columns, detector=detector.to_dict(), class_prior=probabilities.mean(axis=0).tolist())

    def ood_scores(self, X: np.ndarray) -> np.ndarray:
        """1.0 at the edge of the training clips (their 99th percentile), larger further out."""
        if self._fitted is None:
            self._fitted = OutOfDomainDetector.from_dict(self.detector)
        return self._fitted.ood_score(X)
