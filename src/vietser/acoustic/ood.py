"""The fitted out-of-domain detector as plain numbers, and the distances it measures.

Scoring needs only numpy, so a run loaded to decide new audio does not import
scikit-learn; :class:`~vietser.acoustic.domain.OutOfDomainDetector` fits the
state kept here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, PrivateAttr

from vietser.errors import ModelError

FORMAT = "vietser.ood-detector"
FORMAT_VERSION = 1
COVARIANCE_ESTIMATORS = ("mcd", "empirical")

_ARRAY_SHAPES: dict[str, str] = {
    "impute_statistics": "columns",
    "scale_mean": "columns",
    "scale_scale": "columns",
    "pca_mean": "columns",
    "components": "components x columns",
    "location": "components",
    "precision": "components x components",
}


@dataclass(frozen=True)
class DetectorState:
    """Median fill, scaling, principal subspace, robust location and precision, and the distance at the
    edge of the training rows (see :class:`~vietser.acoustic.domain.OutOfDomainDetector`)."""

    n_features_in: int
    columns: np.ndarray
    impute_statistics: np.ndarray
    scale_mean: np.ndarray
    scale_scale: np.ndarray
    pca_mean: np.ndarray
    components: np.ndarray
    location: np.ndarray
    precision: np.ndarray
    covariance_estimator: str
    residual_precision: float
    threshold: float

    def distances(self, features: np.ndarray) -> np.ndarray:
        """Distance of each row (NaN: missing) from the training rows."""
        used = features[:, self.columns]
        filled = np.where(np.isnan(used), self.impute_statistics, used)
        centred = (filled - self.scale_mean) / self.scale_scale - self.pca_mean
        projected = centred @ self.components.T
        residual = centred - projected @ self.components
        offset = projected - self.location
        squared = np.einsum("ij,jk,ik->i", offset, self.precision, offset)
        squared += self.residual_precision * np.sum(residual**2, axis=1)
        return np.sqrt(np.maximum(squared, 0.0))

    def score_samples(self, X: ArrayLike) -> np.ndarray:
        """Distance of each row from the training rows (non-finite values count as missing).

        Raises:
            ModelError: the rows do not have the training number of columns.
        """
        features = finite_or_nan(X)
        if features.shape[1] != self.n_features_in:
            raise ModelError(
                f"the out-of-domain detector was fitted on {self.n_features_in} columns, got {features.shape[1]}"
            )
        return self.distances(features)

    def ood_score(self, X: ArrayLike) -> np.ndarray:
        """Distance of each row over ``threshold``: 1.0 is the edge of the training rows.

        Raises:
            ModelError: the rows do not have the training number of columns.
        """
        return self.score_samples(X) / self.threshold

    def to_dict(self) -> dict[str, Any]:
        """The state as JSON-safe lists and numbers (the detector's ``params`` are added by its estimator)."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "n_features": self.n_features_in,
            "columns": self.columns.tolist(),
            "covariance_estimator": self.covariance_estimator,
            "residual_precision": self.residual_precision,
            "threshold": self.threshold,
            **{name: getattr(self, name).tolist() for name in _ARRAY_SHAPES},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorState:
        """The state in ``data`` (written by :meth:`to_dict`), checked.

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
            n_features = int(data["n_features"])
            columns = np.asarray(data["columns"], dtype=np.int64)
            arrays = {name: np.asarray(data[name], dtype=np.float64) for name in _ARRAY_SHAPES}
            threshold = float(data["threshold"])
            residual_precision = float(data["residual_precision"])
            estimator = str(data["covariance_estimator"])
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"out-of-domain detector data is incomplete or malformed: {error}") from error
        if estimator not in COVARIANCE_ESTIMATORS:
            raise ModelError(f"out-of-domain detector covariance_estimator must be one of {COVARIANCE_ESTIMATORS}")
        if n_features < 1:
            raise ModelError(f"out-of-domain detector n_features must be at least 1, got {n_features}")
        increasing = columns.ndim == 1 and len(columns) > 0 and bool(np.all(np.diff(columns) > 0))
        if not (increasing and 0 <= columns[0] and columns[-1] < n_features):
            raise ModelError(f"out-of-domain detector columns must be increasing indices below {n_features}")
        n_components = arrays["location"].shape[0] if arrays["location"].ndim == 1 else -1
        sizes = {"columns": len(columns), "components": n_components}
        for name, spec in _ARRAY_SHAPES.items():
            expected = tuple(sizes[part] for part in spec.split(" x "))
            if arrays[name].shape != expected or not np.all(np.isfinite(arrays[name])):
                raise ModelError(
                    f"out-of-domain detector field {name!r} has shape {arrays[name].shape}, expected finite {spec} "
                    f"{expected}"
                )
        for name, value in (("threshold", threshold), ("residual_precision", residual_precision)):
            if not (math.isfinite(value) and value > 0):
                raise ModelError(f"out-of-domain detector {name} must be a positive number, got {value}")
        return cls(
            n_features_in=n_features,
            columns=columns,
            covariance_estimator=estimator,
            residual_precision=residual_precision,
            threshold=threshold,
            **arrays,
        )


STATE_FIELDS = tuple(field.name for field in fields(DetectorState))


def finite_or_nan(X: ArrayLike) -> np.ndarray:
    """``X`` as a 2-D float matrix with every non-finite value NaN (missing).

    Raises:
        ModelError: ``X`` is not 2-D.
    """
    features = np.array(X, dtype=np.float64)
    if features.ndim != 2:
        raise ModelError(f"the out-of-domain detector reads a 2-D table of features, got {features.ndim} dimensions")
    features[~np.isfinite(features)] = np.nan
    return features


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
    _state: DetectorState | None = PrivateAttr(default=None)

    def ood_scores(self, X: np.ndarray) -> np.ndarray:
        """1.0 at the edge of the training clips (their 99th percentile), larger further out."""
        if self._state is None:
            self._state = DetectorState.from_dict(self.detector)
        return self._state.ood_score(X)
