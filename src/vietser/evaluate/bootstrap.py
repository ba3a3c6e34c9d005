"""Uncertainty of metrics: bootstrap intervals, paired bootstrap between two systems, McNemar's test.

Resampling draws clips with replacement, or whole groups (speakers) when
``groups`` is given, so that clips of one speaker stay together. Each group
contributes its confusion counts; a resample's confusion matrix is a weighted
sum of them, which scores a thousand resamples in one matrix product.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.contingency_tables import mcnemar as _statsmodels_mcnemar

from vietser.evaluate.metrics import MetricName, metric_function
from vietser.labels import label_indices
from vietser.labels import CLASSES

Labels = Sequence[str] | np.ndarray
# Cap on the resample-weight matrix (resamples x groups) held at once.
_MAX_WEIGHT_CELLS = 4_000_000
# Below this many discordant pairs McNemar uses the exact binomial test.
_EXACT_MCNEMAR_BELOW = 25


class Interval(NamedTuple):
    """A point estimate with its bootstrap percentile interval."""

    estimate: float
    lo: float
    hi: float


class PairedBootstrap(NamedTuple):
    """Difference ``metric(pred_b) - metric(pred_a)`` with its interval and two-sided p-value."""

    delta: float
    lo: float
    hi: float
    p_value: float


class McNemarResult(NamedTuple):
    """McNemar's test on the clips where exactly one of two systems is right."""

    statistic: float
    p_value: float
    only_a_correct: int
    only_b_correct: int


def bootstrap_ci(
    y_true: Labels,
    y_pred: Labels,
    metric: MetricName = "macro_f1",
    n: int = 1000,
    seed: int = 0,
    *,
    groups: Sequence[str] | None = None,
    level: float = 0.95,
) -> Interval:
    """Percentile bootstrap interval of a metric, resampling clips (or ``groups``, e.g. speakers)."""
    function = metric_function(metric)
    cells = _group_cells(y_true, y_pred, groups)
    estimate = float(function(cells.sum(axis=0).reshape(len(CLASSES), len(CLASSES))))
    samples = np.concatenate([function(confusions) for confusions in _resampled_confusions([cells], n, seed)[0]])
    lo, hi = _percentiles(samples, level)
    return Interval(estimate=estimate, lo=lo, hi=hi)


def paired_bootstrap(
    y_true: Labels,
    pred_a: Labels,
    pred_b: Labels,
    metric: MetricName = "macro_f1",
    n: int = 1000,
    seed: int = 0,
    *,
    groups: Sequence[str] | None = None,
    level: float = 0.95,
) -> PairedBootstrap:
    """Paired bootstrap of ``metric(pred_b) - metric(pred_a)`` on the same resampled clips.

    The p-value is two-sided: the share of resampled differences at least as
    far from the observed difference as the observed difference is from zero.
    """
    function = metric_function(metric)
    cells_a = _group_cells(y_true, pred_a, groups)
    cells_b = _group_cells(y_true, pred_b, groups)
    k = len(CLASSES)
    delta = float(function(cells_b.sum(axis=0).reshape(k, k)) - function(cells_a.sum(axis=0).reshape(k, k)))
    chunks_a, chunks_b = _resampled_confusions([cells_a, cells_b], n, seed)
    deltas = np.concatenate([function(b) - function(a) for a, b in zip(chunks_a, chunks_b)])
    lo, hi = _percentiles(deltas, level)
    extreme = int(np.sum(np.abs(deltas - delta) >= abs(delta) - 1e-12))
    return PairedBootstrap(delta=delta, lo=lo, hi=hi, p_value=(1 + extreme) / (n + 1))


def mcnemar(y_true: Labels, pred_a: Labels, pred_b: Labels) -> McNemarResult:
    """McNemar's test of two systems on the same clips (exact binomial when few clips disagree)."""
    true = label_indices(y_true)
    a_correct = label_indices(pred_a) == true
    b_correct = label_indices(pred_b) == true
    table = np.array(
        [
            [np.sum(a_correct & b_correct), np.sum(a_correct & ~b_correct)],
            [np.sum(~a_correct & b_correct), np.sum(~a_correct & ~b_correct)],
        ]
    )
    discordant = int(table[0, 1] + table[1, 0])
    result = _statsmodels_mcnemar(table, exact=discordant < _EXACT_MCNEMAR_BELOW, correction=True)
    return McNemarResult(
        statistic=float(result.statistic),
        p_value=float(result.pvalue),
        only_a_correct=int(table[0, 1]),
        only_b_correct=int(table[1, 0]),
    )


def _group_cells(y_true: Labels, y_pred: Labels, groups: Sequence[str] | None) -> np.ndarray:
    """Confusion counts per resampling unit, flattened: shape (units, k * k)."""
    true = label_indices(y_true)
    pred = label_indices(y_pred)
    if true.shape != pred.shape:
        raise ValueError(f"y_true has {true.size} labels but a prediction has {pred.size}; pass one per clip")
    if true.size == 0:
        raise ValueError("no labelled clips to bootstrap")
    k = len(CLASSES)
    if groups is None:
        units = np.arange(true.size)
    else:
        if len(groups) != true.size:
            raise ValueError(f"groups has {len(groups)} entries for {true.size} clips; pass one group per clip")
        units = pd.factorize(pd.Series(list(groups), dtype=object))[0]
    cells = np.zeros((units.max() + 1, k * k))
    np.add.at(cells, (units, true * k + pred), 1.0)
    return cells


def _resampled_confusions(cell_sets: list[np.ndarray], n: int, seed: int) -> list[list[np.ndarray]]:
    """For each system, the confusion matrices of ``n`` shared resamples, in chunks of shape (m, k, k)."""
    k = len(CLASSES)
    out: list[list[np.ndarray]] = [[] for _ in cell_sets]
    for weights in _resample_weights(cell_sets[0].shape[0], n, seed):
        for chunks, cells in zip(out, cell_sets):
            chunks.append((weights @ cells).reshape(-1, k, k))
    return out


def _resample_weights(units: int, n: int, seed: int) -> Iterator[np.ndarray]:
    """How often each unit is drawn in each resample, yielded in chunks of resamples."""
    if n < 1:
        raise ValueError(f"n must be at least 1 resample, got {n}")
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _MAX_WEIGHT_CELLS // units)
    for start in range(0, n, per_chunk):
        m = min(per_chunk, n - start)
        draws = rng.integers(0, units, size=(m, units))
        flat = (np.arange(m)[:, None] * units + draws).ravel()
        yield np.bincount(flat, minlength=m * units).reshape(m, units).astype(float)


def _percentiles(samples: np.ndarray, level: float) -> tuple[float, float]:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(samples, [tail, 1.0 - tail])
    return float(lo), float(hi)
