"""A fitted linear acoustic estimator as plain arrays, decided with numpy alone.

Deciding one file with a run should not cost the second that importing
scikit-learn (and skops, which imports every scikit-learn estimator to list the
types it trusts) takes. At save time :func:`compile_estimator` reads the
fitted state out of the estimators our linear configurations build — median
imputation, standard scaling, a logistic regression or linear SVM, a late
fusion of such views, temperature or sigmoid calibration — and
:class:`CompiledEstimator` computes their ``predict_proba`` with the same
arithmetic, in the same order. Other estimators (RBF SVM, boosted trees, MLP,
isotonic calibration, two-class fits) are not compiled; their runs load
through skops. The file is an ``.npz`` read with ``allow_pickle=False``: data,
never code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from vietser.errors import ModelError

FORMAT = "vietser.compiled-estimator"
FORMAT_VERSION = 1
_LAYOUT_KEY = "layout"
# sklearn.calibration: a probability above 1 by at most this is set to 1.
_OVERSHOOT = 1e-5
_LOG_EPS = 1e-12
_LINEAR_ARRAYS = ("fill", "mean", "scale", "coef", "intercept")


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by each row's maximum (as scikit-learn and scipy compute it)."""
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Linear:
    """Median fill, standard scaling, then class scores ``X @ coef.T + intercept``."""

    fill: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def decision(self, X: np.ndarray) -> np.ndarray:
        if np.isinf(X).any():
            raise ModelError("the feature rows hold infinite values; the acoustic model reads finite values or NaN")
        filled = np.where(np.isnan(X), self.fill, X)
        return ((filled - self.mean) / self.scale) @ self.coef.T + self.intercept

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        return softmax(self.decision(X))


@dataclass(frozen=True)
class Fusion:
    """The mean of each view's probabilities, every view reading its own columns."""

    views: tuple[tuple[np.ndarray, Node], ...]

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        return np.mean([node.probabilities(X[:, columns]) for columns, node in self.views], axis=0)


@dataclass(frozen=True)
class Calibrated:
    """Probabilities calibrated from the inner node's class scores (its probabilities where it has none):
    ``temperature`` (``parameters`` = [beta]) or one-vs-rest ``sigmoid`` (rows a, b per class)."""

    inner: Node
    method: str
    parameters: np.ndarray

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        scores = self.inner.decision(X) if isinstance(self.inner, Linear) else self.inner.probabilities(X)
        if self.method == "temperature":
            proba = softmax(self.parameters[0] * _as_logits(scores))
        else:
            a, b = self.parameters
            proba = 1.0 / (1.0 + np.exp(a * scores + b))
            total = proba.sum(axis=1, keepdims=True)
            proba = np.divide(proba, total, out=np.full_like(proba, 1 / proba.shape[1]), where=total != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + _OVERSHOOT)] = 1.0
        return proba


Node = Union[Linear, Fusion, Calibrated]


def _as_logits(scores: np.ndarray) -> np.ndarray:
    """Scores that look like probabilities (in [0, 1], rows summing to 1) as their logarithms."""
    looks_like_probabilities = np.all((scores >= 0) & (scores <= 1)) and np.all(
        np.isclose(scores.sum(axis=1), 1.0, rtol=1e-5, atol=1e-8)
    )
    return np.log(scores + _LOG_EPS) if looks_like_probabilities else scores


@dataclass(frozen=True)
class CompiledEstimator:
    """A compiled estimator: ``predict_proba`` over the training matrix's columns, in ``classes_`` order."""

    root: Node
    classes_: np.ndarray
    n_features_in_: int

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ModelError(f"the compiled acoustic model reads {self.n_features_in_} columns, got shape {X.shape}")
        return self.root.probabilities(X)

    def save(self, path: Path) -> None:
        """Write the arrays and their layout (JSON, as a string array) to ``path`` as ``.npz``."""
        arrays: dict[str, np.ndarray] = {}
        layout = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "classes": [str(c) for c in self.classes_],
            "n_features": self.n_features_in_,
            "root": _layout(self.root, "root", arrays),
        }
        with path.open("wb") as handle:
            np.savez(handle, **{_LAYOUT_KEY: np.array(json.dumps(layout))}, **arrays)

    @classmethod
    def load(cls, path: Path) -> CompiledEstimator:
        """The estimator saved at ``path``.

        Raises:
            ModelError: the file is not a compiled estimator of this format, or its arrays do not fit together.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
            layout = json.loads(str(arrays.pop(_LAYOUT_KEY)))
            if not all(np.isfinite(values).all() for values in arrays.values() if values.dtype.kind == "f"):
                raise ModelError(f"{path} holds values that are not finite numbers; retrain the model")
            if layout.get("format") != FORMAT or layout.get("format_version") != FORMAT_VERSION:
                raise ModelError(f"{path} is not a compiled estimator of format {FORMAT} {FORMAT_VERSION}")
            root, classes = _node(layout["root"], arrays), np.array(layout["classes"], dtype=object)
            estimator = cls(root, classes, int(layout["n_features"]))
            probe = estimator.predict_proba(np.zeros((1, estimator.n_features_in_)))
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
            raise ModelError(f"{path} is not a readable compiled estimator ({error}); retrain the model") from error
        if probe.shape != (1, len(estimator.classes_)):
            raise ModelError(f"{path} gives {probe.shape[1]} class scores for {len(estimator.classes_)} classes")
        return estimator


def _layout(node: Node, key: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if isinstance(node, Linear):
        for name in _LINEAR_ARRAYS:
            arrays[f"{key}.{name}"] = getattr(node, name)
        return {"type": "linear"}
    if isinstance(node, Calibrated):
        arrays[f"{key}.parameters"] = node.parameters
        return {"type": "calibrated", "method": node.method, "inner": _layout(node.inner, f"{key}.inner", arrays)}
    views = []
    for number, (columns, view) in enumerate(node.views):
        arrays[f"{key}.{number}.columns"] = columns
        views.append(_layout(view, f"{key}.{number}", arrays))
    return {"type": "fusion", "views": views}


def _node(layout: dict[str, Any], arrays: dict[str, np.ndarray], key: str = "root") -> Node:
    kind = layout["type"]
    if kind == "linear":
        parts = {name: arrays[f"{key}.{name}"].astype(np.float64) for name in _LINEAR_ARRAYS}
        n_classes, n_columns = parts["coef"].shape
        columns_fit = all(parts[name].shape == (n_columns,) for name in ("fill", "mean", "scale"))
        if not columns_fit or parts["intercept"].shape != (n_classes,):
            raise ModelError(f"the compiled linear model {key} has arrays of mismatched shapes")
        return Linear(**parts)
    if kind == "calibrated":
        method = layout["method"]
        if method not in ("temperature", "sigmoid"):
            raise ModelError(f"the compiled calibration {key} has unknown method {method!r}")
        return Calibrated(_node(layout["inner"], arrays, f"{key}.inner"), method, arrays[f"{key}.parameters"])
    if kind == "fusion":
        return Fusion(
            tuple(
                (arrays[f"{key}.{number}.columns"].astype(np.int64), _node(view, arrays, f"{key}.{number}"))
                for number, view in enumerate(layout["views"])
            )
        )
    raise ModelError(f"the compiled estimator holds an unknown node type {kind!r}")


def compile_estimator(estimator: Any) -> CompiledEstimator | None:
    """``estimator`` (fitted) as a :class:`CompiledEstimator`, or None where it holds a part not compiled
    (see the module docstring) and must be loaded with scikit-learn."""
    node = _compile(estimator)
    classes = getattr(estimator, "classes_", np.array([]))
    if node is None or len(classes) < 3:
        return None
    return CompiledEstimator(node, np.asarray(classes, dtype=object), int(estimator.n_features_in_))


def _compile(estimator: Any) -> Node | None:
    from sklearn.calibration import CalibratedClassifierCV, _SigmoidCalibration, _TemperatureScaling
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    from vietser.acoustic.fusion import LateFusion

    if isinstance(estimator, CalibratedClassifierCV):
        if len(estimator.calibrated_classifiers_) != 1:
            return None
        fitted = estimator.calibrated_classifiers_[0]
        inner = _compile(fitted.estimator)
        # The inner estimator is fitted on the labels or on their codes 0..k-1, in the same order.
        inner_classes = list(fitted.estimator.classes_)
        if inner is None or inner_classes not in (list(estimator.classes_), list(range(len(estimator.classes_)))):
            return None
        calibrators = fitted.calibrators
        if fitted.method == "temperature" and isinstance(calibrators[0], _TemperatureScaling):
            return Calibrated(inner, "temperature", np.array([float(calibrators[0].beta_)]))
        if fitted.method == "sigmoid" and all(isinstance(c, _SigmoidCalibration) for c in calibrators):
            parameters = np.array([[c.a_ for c in calibrators], [c.b_ for c in calibrators]], dtype=np.float64)
            return Calibrated(inner, "sigmoid", parameters)
        return None
    if isinstance(estimator, LateFusion):
        views = [
            (np.asarray(columns, dtype=np.int64), _compile(fitted))
            for (_, _, columns), fitted in zip(estimator.views, estimator.estimators_)
        ]
        return None if any(node is None for _, node in views) else Fusion(tuple(views))
    if isinstance(estimator, Pipeline) and len(estimator.steps) == 3:
        imputer, scaler, model = (step for _, step in estimator.steps)
        steps_compile = (
            isinstance(imputer, SimpleImputer)
            and isinstance(scaler, StandardScaler)
            and isinstance(model, (LogisticRegression, LinearSVC))
        )
        if not steps_compile or scaler.scale_ is None or scaler.mean_ is None:
            return None
        n_columns = imputer.n_features_in_
        return Linear(
            fill=imputer.transform(np.full((1, n_columns), np.nan))[0].astype(np.float64),
            mean=scaler.mean_.astype(np.float64),
            scale=scaler.scale_.astype(np.float64),
            coef=np.asarray(model.coef_, dtype=np.float64),
            intercept=np.asarray(model.intercept_, dtype=np.float64),
        )
    return None
