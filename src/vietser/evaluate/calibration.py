"""How well probabilities match outcomes: reliability bins, expected calibration error, Brier score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from vietser.labels import label_indices


@dataclass(frozen=True)
class ReliabilityBins:
    """Top-label confidence against accuracy in equal-width confidence bins (empty bins dropped)."""

    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray


def reliability_bins(
    probabilities: np.ndarray, labels: Sequence[str] | np.ndarray, n_bins: int = 10
) -> ReliabilityBins:
    """Mean confidence and accuracy of the top class per confidence bin.

    Args:
        probabilities: shape (n, len(CLASSES)), CLASSES order.
        labels: the true class of each clip.
    """
    probabilities, truth = _validate(probabilities, labels)
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == truth).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    filled = count > 0
    mean_confidence = np.bincount(bins, weights=confidence, minlength=n_bins)[filled] / count[filled]
    accuracy = np.bincount(bins, weights=correct, minlength=n_bins)[filled] / count[filled]
    return ReliabilityBins(confidence=mean_confidence, accuracy=accuracy, count=count[filled])


def expected_calibration_error(
    probabilities: np.ndarray, labels: Sequence[str] | np.ndarray, n_bins: int = 10
) -> float:
    """Count-weighted mean gap between confidence and accuracy over the reliability bins."""
    bins = reliability_bins(probabilities, labels, n_bins)
    return float(np.sum(bins.count * np.abs(bins.confidence - bins.accuracy)) / np.sum(bins.count))


def brier_score(probabilities: np.ndarray, labels: Sequence[str] | np.ndarray) -> float:
    """Mean squared distance between the probability vector and the one-hot truth (0 is perfect, 2 the worst)."""
    probabilities, truth = _validate(probabilities, labels)
    onehot = np.eye(probabilities.shape[1])[truth]
    return float(np.mean(np.sum((probabilities - onehot) ** 2, axis=1)))


def _validate(probabilities: np.ndarray, labels: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probabilities = np.asarray(probabilities, dtype=float)
    truth = label_indices(labels)
    if probabilities.ndim != 2 or probabilities.shape[0] != truth.size:
        raise ValueError(
            f"probabilities have shape {probabilities.shape} for {truth.size} labels; "
            "pass one row per clip in CLASSES order"
        )
    if truth.size == 0:
        raise ValueError("no labelled clips to assess calibration on")
    return probabilities, truth
