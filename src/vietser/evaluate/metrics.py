"""Classification metrics over CLASSES: accuracy, unweighted accuracy, macro-F1, per-class scores.

Every summary metric is a function of the confusion matrix, vectorised over
leading axes, so the bootstrap can score thousands of resamples at once.
Averaging follows scikit-learn's defaults: unweighted accuracy (balanced
accuracy) averages recall over the classes present in ``y_true``; macro-F1
averages F1 over the classes present in ``y_true`` or ``y_pred``.
"""

from __future__ import annotations

from typing import Callable, Literal, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from vietser.labels import CLASSES, label_indices

MetricName = Literal["accuracy", "unweighted_accuracy", "macro_f1"]
METRIC_NAMES: tuple[MetricName, ...] = ("accuracy", "unweighted_accuracy", "macro_f1")


class ClassScores(BaseModel):
    """Precision, recall and F1 of one class, with its number of true clips."""

    model_config = ConfigDict(extra="forbid")

    precision: float
    recall: float
    f1: float
    support: int


class Metrics(BaseModel):
    """Scores of one system on one set of labelled clips."""

    model_config = ConfigDict(extra="forbid")

    n: int
    accuracy: float
    unweighted_accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScores]
    confusion: list[list[int]]
    classes: list[str]


def confusion_matrix(
    y_true: Sequence[str] | np.ndarray, y_pred: Sequence[str] | np.ndarray, classes: Sequence[str] = CLASSES
) -> np.ndarray:
    """Counts with true classes in rows and predicted classes in columns, in ``classes`` order."""
    true = label_indices(y_true, classes)
    pred = label_indices(y_pred, classes)
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {true.size} labels but y_pred has {pred.size}; pass one prediction per clip")
    k = len(classes)
    return np.bincount(true * k + pred, minlength=k * k).reshape(k, k)


def accuracy_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """Share of clips on the diagonal."""
    total = confusion.sum(axis=(-2, -1))
    return _safe_divide(np.trace(confusion, axis1=-2, axis2=-1), total)


def unweighted_accuracy_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """Mean recall over the classes that have true clips (balanced accuracy)."""
    true = confusion.sum(axis=-1)
    recall = _safe_divide(np.diagonal(confusion, axis1=-2, axis2=-1), true)
    present = true > 0
    return _safe_divide((recall * present).sum(axis=-1), present.sum(axis=-1))


def macro_f1_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """Mean F1 over the classes that occur as truth or prediction."""
    tp = np.diagonal(confusion, axis1=-2, axis2=-1)
    true_plus_pred = confusion.sum(axis=-1) + confusion.sum(axis=-2)
    f1 = _safe_divide(2 * tp, true_plus_pred)
    present = true_plus_pred > 0
    return _safe_divide((f1 * present).sum(axis=-1), present.sum(axis=-1))


METRICS: dict[MetricName, Callable[[np.ndarray], np.ndarray]] = {
    "accuracy": accuracy_from_confusion,
    "unweighted_accuracy": unweighted_accuracy_from_confusion,
    "macro_f1": macro_f1_from_confusion,
}


def score(y_true: Sequence[str] | np.ndarray, y_pred: Sequence[str] | np.ndarray, metric: MetricName) -> float:
    """One summary metric of predictions against truth."""
    return float(metric_function(metric)(confusion_matrix(y_true, y_pred)))


def compute_metrics(
    y_true: Sequence[str] | np.ndarray, y_pred: Sequence[str] | np.ndarray, classes: Sequence[str] = CLASSES
) -> Metrics:
    """Accuracy, unweighted accuracy, macro-F1, per-class scores and the confusion matrix."""
    confusion = confusion_matrix(y_true, y_pred, classes)
    tp = np.diagonal(confusion)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    precision = _safe_divide(tp, predicted)
    recall = _safe_divide(tp, support)
    f1 = _safe_divide(2 * tp, support + predicted)
    per_class = {
        name: ClassScores(
            precision=float(precision[i]), recall=float(recall[i]), f1=float(f1[i]), support=int(support[i])
        )
        for i, name in enumerate(classes)
    }
    return Metrics(
        n=int(confusion.sum()),
        accuracy=float(accuracy_from_confusion(confusion)),
        unweighted_accuracy=float(unweighted_accuracy_from_confusion(confusion)),
        macro_f1=float(macro_f1_from_confusion(confusion)),
        per_class=per_class,
        confusion=confusion.tolist(),
        classes=list(classes),
    )


def metric_function(metric: MetricName) -> Callable[[np.ndarray], np.ndarray]:
    """The confusion-matrix function of a metric name.

    Raises:
        ValueError: the name is not one of ``METRIC_NAMES``.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    return METRICS[metric]


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ratio that is 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)
