from __future__ import annotations

import numpy as np

from vietser.acoustic.config import ModelKind
from vietser.acoustic.models import PARAM_GRIDS
from vietser.acoustic.search import simplest_within_noise


def test_a_grid_that_scores_alike_keeps_its_strongest_regularisation() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 0.02, size=(5, 6))  # five candidates, six folds, equal in truth

    assert simplest_within_noise(0.88 + noise) == 0


def test_a_candidate_better_on_every_fold_wins_however_small_the_margin() -> None:
    folds = np.array([[0.80, 0.90, 0.70, 0.85], [0.81, 0.91, 0.71, 0.86]])

    assert simplest_within_noise(folds) == 1


def test_a_weaker_candidate_outside_noise_is_passed_over_for_a_later_one_within_it() -> None:
    folds = np.array(
        [
            [0.60, 0.62, 0.61, 0.60],  # clearly worse everywhere
            [0.88, 0.86, 0.90, 0.89],  # a little under the best, not on every fold
            [0.89, 0.90, 0.88, 0.90],  # the top mean
        ]
    )

    assert simplest_within_noise(folds) == 1


def test_one_fold_gives_no_noise_estimate_so_the_top_score_is_kept() -> None:
    assert simplest_within_noise(np.array([[0.80], [0.90], [0.85]])) == 1


def test_every_grid_lists_its_strongest_regularisation_first() -> None:
    assert PARAM_GRIDS[ModelKind.LOGREG]["model__C"] == sorted(PARAM_GRIDS[ModelKind.LOGREG]["model__C"])
    assert PARAM_GRIDS[ModelKind.SVM_LINEAR]["model__C"] == sorted(PARAM_GRIDS[ModelKind.SVM_LINEAR]["model__C"])
    assert PARAM_GRIDS[ModelKind.SVM_RBF]["model__C"] == sorted(PARAM_GRIDS[ModelKind.SVM_RBF]["model__C"])
    assert PARAM_GRIDS[ModelKind.MLP]["model__alpha"] == sorted(PARAM_GRIDS[ModelKind.MLP]["model__alpha"], reverse=True)
