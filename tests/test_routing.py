from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax

from vietser.decision import Route
from vietser.errors import ConfigError, ModelError
from vietser.labels import CLASSES
from vietser.routing import (
    BestAccuracy,
    ConformalCoverage,
    DelegationBudget,
    TargetRisk,
    choose_threshold,
    conformal_quantile,
    confidence_scores,
    load_router,
    nonconformity,
    prediction_sets,
    risk_coverage_curve,
    save_router,
    selective_accuracy,
)


def simulated_model(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of a moderately accurate classifier and the true labels."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(CLASSES), size=n)
    logits = 1.5 * np.eye(len(CLASSES))[truth] + rng.normal(0, 1.0, size=(n, len(CLASSES)))
    return softmax(logits, axis=1), np.array(CLASSES)[truth]


DEV = simulated_model(3_000, seed=1)
HELD_OUT = simulated_model(20_000, seed=2)


def _correct(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.array(CLASSES)[probabilities.argmax(axis=1)] == labels


def test_scores_of_a_known_vector() -> None:
    p = np.array([[0.5, 0.3, 0.2]])
    entropy = -(0.5 * math.log(0.5) + 0.3 * math.log(0.3) + 0.2 * math.log(0.2))

    assert confidence_scores(p, "max_prob") == pytest.approx([0.5])
    assert confidence_scores(p, "margin") == pytest.approx([0.2])
    assert confidence_scores(p, "entropy") == pytest.approx([1 - entropy / math.log(3)])


@pytest.mark.parametrize("score", ["max_prob", "margin", "entropy"])
def test_one_hot_is_more_confident_than_uniform(score: str) -> None:
    scores = confidence_scores(np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]]), score)

    assert scores[0] > scores[1]


def test_lac_and_aps_nonconformity_of_a_known_vector() -> None:
    p = np.array([[0.3, 0.5, 0.2]])

    np.testing.assert_allclose(nonconformity(p, "lac"), [[0.7, 0.5, 0.8]])
    np.testing.assert_allclose(nonconformity(p, "aps"), [[0.8, 0.5, 1.0]])


@pytest.mark.parametrize("method", ["lac", "aps"])
def test_conformal_sets_cover_the_true_class_at_the_requested_rate(method: str) -> None:
    threshold = conformal_quantile(*DEV, alpha=0.1, method=method)
    sets = prediction_sets(HELD_OUT[0], threshold, method)
    truth = np.array([CLASSES.index(label) for label in HELD_OUT[1]])

    assert sets[np.arange(len(truth)), truth].mean() >= 0.9 - 0.01


def test_conformal_router_delegates_exactly_the_clips_whose_set_is_not_a_single_class() -> None:
    router = choose_threshold(*DEV, ConformalCoverage(alpha=0.1), score="conformal")
    set_sizes = prediction_sets(HELD_OUT[0], router.threshold, "lac").sum(axis=1)

    routes = router.route(HELD_OUT[0])

    assert [route is Route.CONFIDENT for route in routes] == list(set_sizes == 1)
    assert 0 < np.mean(set_sizes > 1) < 1


def test_risk_coverage_curve_and_aurc_of_a_toy_example() -> None:
    curve = risk_coverage_curve(np.array([0.9, 0.8, 0.7, 0.6]), np.array([True, True, False, True]))

    assert curve.coverage == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert curve.risk == pytest.approx([0.0, 0.0, 1 / 3, 1 / 4])
    assert curve.aurc == pytest.approx(7 / 48)


def test_tied_scores_enter_the_risk_coverage_curve_together() -> None:
    curve = risk_coverage_curve(np.array([0.9, 0.9, 0.5]), np.array([True, False, True]))

    assert curve.coverage == pytest.approx([2 / 3, 1.0])
    assert curve.risk == pytest.approx([0.5, 1 / 3])
    assert curve.aurc == pytest.approx(2 / 3 * 0.5 + 1 / 3 * 1 / 3)


def test_selective_accuracy_keeps_the_most_confident_clips() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])

    assert selective_accuracy(scores, np.array([True, True, False, False]), coverage=0.5) == 1.0
    assert selective_accuracy(scores, np.array([True, True, False, False]), coverage=0.75) == pytest.approx(2 / 3)


@pytest.mark.parametrize("score", ["max_prob", "margin", "entropy", "conformal"])
def test_delegation_budget_holds_on_held_out_data(score: str) -> None:
    router = choose_threshold(*DEV, DelegationBudget(max_delegation=0.25), score=score)

    delegated = 1 - router.is_confident(HELD_OUT[0]).mean()

    assert delegated <= 0.25 + 0.03
    assert router.dev.coverage >= 0.75


@pytest.mark.parametrize("score", ["max_prob", "margin", "entropy"])
def test_target_risk_holds_on_held_out_data(score: str) -> None:
    router = choose_threshold(*DEV, TargetRisk(max_risk=0.1), score=score)
    confident = router.is_confident(HELD_OUT[0])

    risk = 1 - _correct(*HELD_OUT)[confident].mean()

    assert risk <= 0.1 + 0.02
    assert confident.mean() > 0.2


def test_unreachable_target_risk_delegates_everything() -> None:
    router = choose_threshold(*DEV, TargetRisk(max_risk=0.0))

    assert router.threshold == math.inf
    assert not router.is_confident(HELD_OUT[0]).any()


def test_best_accuracy_reaches_the_best_threshold_on_dev() -> None:
    router = choose_threshold(*DEV, BestAccuracy(), reasoner_correct=0.6)
    scores, correct = confidence_scores(DEV[0], "max_prob"), _correct(*DEV)
    brute_force = max(np.mean(np.where(scores >= t, correct, 0.6)) for t in np.append(scores, np.inf))

    assert router.dev.expected_accuracy == pytest.approx(brute_force)


def test_best_accuracy_keeps_everything_when_the_reasoner_is_always_wrong() -> None:
    router = choose_threshold(*DEV, BestAccuracy(), reasoner_correct=np.zeros(len(DEV[1]), dtype=bool))

    assert router.dev.coverage == 1.0


def test_best_accuracy_with_a_perfect_reasoner_keeps_only_clips_the_model_gets_right() -> None:
    router = choose_threshold(*DEV, BestAccuracy(), reasoner_correct=1.0)

    assert router.dev.expected_accuracy == 1.0
    assert router.dev.risk == 0.0
    assert router.dev.coverage < 0.1


def test_best_accuracy_without_reasoner_estimate_is_refused() -> None:
    with pytest.raises(ConfigError, match="reasoner_correct"):
        choose_threshold(*DEV, BestAccuracy())


def test_conformal_coverage_policy_needs_the_conformal_score() -> None:
    with pytest.raises(ConfigError, match="conformal"):
        choose_threshold(*DEV, ConformalCoverage(), score="margin")


def test_router_saved_and_loaded_routes_the_same(tmp_path: Path) -> None:
    router = choose_threshold(*DEV, TargetRisk(max_risk=0.0))
    save_router(router, tmp_path)

    loaded = load_router(tmp_path)

    assert loaded == router
    assert loaded.route(HELD_OUT[0][:50]) == router.route(HELD_OUT[0][:50])


def test_missing_routing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="routing.json"):
        load_router(tmp_path)


def test_probabilities_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ModelError, match="shape"):
        confidence_scores(np.ones((4, 2)) / 2, "max_prob")


def test_reasoner_correctness_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ConfigError, match="one value per dev clip"):
        choose_threshold(*DEV, BestAccuracy(), reasoner_correct=np.ones(10, dtype=bool))
