"""Metrics agree with scikit-learn on the same labels."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from vietser.evaluate.metrics import Metrics, compute_metrics, score
from vietser.labels import CLASSES


def noisy_predictions(n: int, accuracy: float, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    truth = rng.choice(CLASSES, size=n, p=[0.5, 0.3, 0.2])
    wrong = rng.choice(CLASSES, size=n)
    pred = np.where(rng.random(n) < accuracy, truth, wrong)
    return truth.tolist(), pred.tolist()


def test_summary_metrics_match_sklearn() -> None:
    truth, pred = noisy_predictions(200, 0.7, seed=1)
    metrics = compute_metrics(truth, pred)
    assert metrics.accuracy == pytest.approx(sk.accuracy_score(truth, pred))
    assert metrics.unweighted_accuracy == pytest.approx(sk.balanced_accuracy_score(truth, pred))
    assert metrics.macro_f1 == pytest.approx(sk.f1_score(truth, pred, average="macro"))


def test_per_class_scores_and_confusion_match_sklearn() -> None:
    truth, pred = noisy_predictions(150, 0.6, seed=2)
    metrics = compute_metrics(truth, pred)
    precision, recall, f1, support = sk.precision_recall_fscore_support(truth, pred, labels=list(CLASSES))
    for i, name in enumerate(CLASSES):
        scores = metrics.per_class[name]
        assert (scores.precision, scores.recall, scores.f1) == pytest.approx((precision[i], recall[i], f1[i]))
        assert scores.support == support[i]
    assert metrics.confusion == sk.confusion_matrix(truth, pred, labels=list(CLASSES)).tolist()


def test_absent_class_is_averaged_like_sklearn() -> None:
    truth = ["calm", "calm", "angry", "angry", "angry"]
    pred = ["calm", "angry", "angry", "angry", "calm"]
    assert score(truth, pred, "macro_f1") == pytest.approx(sk.f1_score(truth, pred, average="macro"))
    assert score(truth, pred, "unweighted_accuracy") == pytest.approx(sk.balanced_accuracy_score(truth, pred))


def test_predicting_a_class_never_true_counts_in_macro_f1_like_sklearn() -> None:
    truth = ["calm", "calm", "angry", "angry"]
    pred = ["calm", "panic", "angry", "angry"]
    assert score(truth, pred, "macro_f1") == pytest.approx(sk.f1_score(truth, pred, average="macro", zero_division=0))


def test_metrics_survive_a_json_round_trip() -> None:
    truth, pred = noisy_predictions(30, 0.8, seed=3)
    metrics = compute_metrics(truth, pred)
    assert Metrics.model_validate_json(metrics.model_dump_json()) == metrics


def test_label_outside_classes_is_rejected() -> None:
    with pytest.raises(ValueError, match="not among the classes"):
        compute_metrics(["calm", "happy"], ["calm", "calm"])


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="one prediction per clip"):
        compute_metrics(["calm", "angry"], ["calm"])


def test_unknown_metric_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        score(["calm"], ["calm"], "f2")  # type: ignore[arg-type]
