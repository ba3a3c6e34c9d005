"""Choosing an acoustic model's hyperparameters: speaker-grouped folds, grid search, late fusion of views."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, cross_val_score
from sklearn.pipeline import Pipeline

from vietser.acoustic.calibration import Splits
from vietser.acoustic.config import MARGIN_KINDS, AcousticConfig
from vietser.acoustic.records import CandidateScore, CVResult
from vietser.acoustic.fusion import LateFusion
from vietser.acoustic.models import PARAM_GRIDS, build_pipeline
from vietser.errors import ModelError

VIEW_CALIBRATION_FOLDS = 3

def speaker_folds(labels: np.ndarray, speakers: np.ndarray, n_splits: int, seed: int) -> Splits:
    """Stratified folds in which every speaker's clips fall in exactly one held-out fold.

    Uses at most one fold per speaker.

    Raises:
        ModelError: fewer than two speakers, or a fold whose training part lacks a class.
    """
    n_speakers = len(np.unique(speakers))
    if n_speakers < 2:
        raise ModelError(
            f"speaker-independent cross-validation needs at least 2 speakers, found {n_speakers}; "
            "add speakers to the train split"
        )
    splitter = StratifiedGroupKFold(n_splits=min(n_splits, n_speakers), shuffle=True, random_state=seed)
    try:
        folds = list(splitter.split(np.zeros(len(labels)), labels, groups=speakers))
    except ValueError as error:  # every class has fewer clips than folds
        raise ModelError(f"cannot make {splitter.n_splits} speaker-grouped folds: {error}; lower cv_folds") from error
    for number, (train, _) in enumerate(folds, start=1):
        missing = sorted(set(labels) - set(labels[train]))
        if missing:
            raise ModelError(
                f"in speaker-grouped fold {number} of {len(folds)} the training speakers have no clip of "
                f"{missing}: too few speakers carry that class. Add speakers with it or lower cv_folds"
            )
    return folds


def fold_speakers(speakers: np.ndarray, splits: Splits) -> list[list[str]]:
    """The held-out speakers of each fold."""
    return [sorted(set(speakers[test].tolist())) for _, test in splits]


def search_hyperparameters(
    pipeline: Pipeline, grid: dict[str, list[Any]], X: np.ndarray, y: np.ndarray, speakers: np.ndarray, splits: Splits
) -> CVResult:
    """Grid search scored by macro-F1 over the given speaker-grouped folds; the candidate kept is
    :func:`simplest_within_noise`'s."""
    search = GridSearchCV(pipeline, grid, cv=splits, scoring="f1_macro", refit=False, n_jobs=1, error_score="raise")
    search.fit(X, y)
    results = search.cv_results_
    candidates = [
        CandidateScore(params=params, macro_f1_mean=float(mean), macro_f1_std=float(std))
        for params, mean, std in zip(results["params"], results["mean_test_score"], results["std_test_score"])
    ]
    fold_scores = np.column_stack([results[f"split{number}_test_score"] for number in range(len(splits))])
    best = candidates[simplest_within_noise(fold_scores)]
    return CVResult(
        n_splits=len(splits),
        fold_speakers=fold_speakers(speakers, splits),
        best_params=best.params,
        macro_f1_mean=best.macro_f1_mean,
        macro_f1_std=best.macro_f1_std,
        candidates=candidates,
    )


def simplest_within_noise(fold_scores: np.ndarray) -> int:
    """The candidate to keep, given each candidate's score on the same folds (one row per candidate,
    in grid order: the grids list the strongest regularisation first).

    That is the first candidate whose shortfall against the best-scoring one, fold by fold, is within
    one standard error of its mean — the best one itself when none is. Picking the top mean alone
    picks by noise where a grid scores alike: emobase in a `vietser run` of 10 ravdess3 actors scored
    0.887-0.894 at every C, the top mean chose C = 1.0, and that run scored 0.53 on EmoDB; the
    strongest C within noise (0.003) scored 0.58, same test split within 0.002.
    """
    best = int(np.argmax(fold_scores.mean(axis=1)))
    n_splits = fold_scores.shape[1]
    if n_splits < 2:  # one fold gives no standard error
        return best
    for index in range(best):
        gap = fold_scores[best] - fold_scores[index]
        if gap.mean() <= gap.std(ddof=1) / np.sqrt(n_splits):
            return index
    return best


def tune(
    config: AcousticConfig, view_sizes: list[int], X: np.ndarray, y: np.ndarray, speakers: np.ndarray, splits: Splits
) -> tuple[ClassifierMixin, CVResult]:
    """The unfitted model with the hyperparameters chosen by speaker-grouped CV, and the search result.

    With several views (``X``'s columns are the views' columns one after the other, ``view_sizes``
    long) each view's pipeline is tuned on its own columns; the result is their
    :class:`~vietser.acoustic.fusion.LateFusion`, scored as a whole on the same folds.
    """
    pipeline = build_pipeline(config.model, config.seed)
    grid = PARAM_GRIDS[config.model]
    if len(view_sizes) == 1:
        cv = search_hyperparameters(pipeline, grid, X, y, speakers, splits)
        return clone(pipeline).set_params(**cv.best_params), cv
    results = {
        view.value: search_hyperparameters(pipeline, grid, X[:, positions], y, speakers, splits)
        for view, positions in zip(config.views, _view_positions(view_sizes))
    }
    fused = _fused(config, view_sizes, {name: result.best_params for name, result in results.items()})
    scores = cross_val_score(fused, X, y, cv=splits, scoring="f1_macro", n_jobs=1, error_score="raise")
    cv = CVResult(
        n_splits=len(splits),
        fold_speakers=fold_speakers(speakers, splits),
        best_params={f"{name}__{key}": value for name, result in results.items() for key, value in result.best_params.items()},
        macro_f1_mean=float(scores.mean()),
        macro_f1_std=float(scores.std()),
        candidates=[
            candidate.model_copy(update={"params": {f"{name}__{k}": v for k, v in candidate.params.items()}})
            for name, result in results.items()
            for candidate in result.candidates
        ],
    )
    return fused, cv


def with_params(config: AcousticConfig, view_sizes: list[int], params: dict[str, Any]) -> ClassifierMixin:
    """The unfitted model of ``config`` with the hyperparameters of a search (:attr:`CVResult.best_params`:
    with several views, each view's keys prefixed by ``<view>__``).

    Raises:
        ModelError: ``params`` are not those of this configuration's pipelines.
    """
    pipeline = build_pipeline(config.model, config.seed)
    try:
        if len(view_sizes) == 1:
            return clone(pipeline).set_params(**params)
        by_view = {view.value: {} for view in config.views}
        for key, value in params.items():
            view, _, name = key.partition("__")
            by_view[view][name] = value
        return _fused(config, view_sizes, by_view)
    except (KeyError, ValueError) as error:
        raise ModelError(
            f"hyperparameters {params} do not fit a {config.model.value} model on {[v.value for v in config.views]}: "
            f"{error}; reuse a search made with the same configuration"
        ) from error


def _fused(config: AcousticConfig, view_sizes: list[int], params: dict[str, dict[str, Any]]) -> LateFusion:
    """One model per view on its own columns, each with its view's hyperparameters, fused."""
    pipeline = build_pipeline(config.model, config.seed)
    return LateFusion(
        [
            (view.value, _view_model(config, clone(pipeline).set_params(**params[view.value])), positions)
            for view, positions in zip(config.views, _view_positions(view_sizes))
        ]
    )


def _view_positions(view_sizes: list[int]) -> list[list[int]]:
    """The column positions of each view in a matrix of the views' columns one after the other."""
    bounds = np.cumsum([0, *view_sizes]).tolist()
    return [list(range(start, stop)) for start, stop in pairwise(bounds)]


def _view_model(config: AcousticConfig, pipeline: Pipeline) -> ClassifierMixin:
    """A view's model in a fusion. Margin models get their own temperature first, so that
    the views' probabilities are on one scale before they are averaged (the fitted
    fusion is calibrated again as a whole, on speaker-grouped folds)."""
    if config.model not in MARGIN_KINDS:
        return pipeline
    return CalibratedClassifierCV(pipeline, method="temperature", cv=VIEW_CALIBRATION_FOLDS, ensemble=False)
