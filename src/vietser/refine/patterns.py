"""Evidence patterns over-represented in a group of clips (errors) against a reference group.

A pattern is one or two threshold conditions on speaker-relative z-scores, e.g.
``pitch > +1.5 SD and loudness < +0.5 SD``. Thresholds are a few quantiles of the
feature over both groups. Patterns are ranked by how much more often they hold in
the target group than in the reference group (difference of shares); pairs are
built from the best single conditions on different features.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from vietser.rules.rulebook import Condition

QUANTILES = (0.2, 0.4, 0.6, 0.8)
MIN_SUPPORT = 3
PAIR_POOL = 10
Reference = Literal["correct", "predicted_class"]


class EvidencePattern(BaseModel):
    """Conditions that hold on ``share_errors`` of the errors but ``share_reference`` of the reference."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conditions: tuple[Condition, ...]
    text: str
    reference: Reference
    support: int
    share_errors: float
    share_reference: float
    reference_n: int
    lift: float


def _thresholds(values: np.ndarray) -> np.ndarray:
    """Quantile thresholds per feature column, rounded to 2 decimals; NaN for an empty column."""
    thresholds = np.full((values.shape[1], len(QUANTILES)), np.nan)
    for j in range(values.shape[1]):
        finite = values[:, j][np.isfinite(values[:, j])]
        if finite.size:
            thresholds[j] = np.round(np.quantile(finite, QUANTILES), 2)
    return thresholds


def _holds(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Boolean (clips, features, thresholds, 2): value > t, value < t; NaN never holds."""
    x = values[:, :, None]
    with np.errstate(invalid="ignore"):
        return np.stack([x > thresholds[None], x < thresholds[None]], axis=-1)


def _lift(hits: int, n: int, ref_hits: int, n_ref: int) -> float:
    """Ratio of smoothed shares (add 0.5 / add 1), finite even when the reference share is 0."""
    return ((hits + 0.5) / (n + 1)) / ((ref_hits + 0.5) / (n_ref + 1))


def _pattern(
    conditions: Sequence[Condition],
    in_target: np.ndarray,
    in_reference: np.ndarray,
    reference: Reference,
) -> EvidencePattern:
    hits, ref_hits = int(in_target.sum()), int(in_reference.sum())
    n, n_ref = len(in_target), len(in_reference)
    return EvidencePattern(
        conditions=tuple(conditions),
        text=" and ".join(c.describe() for c in conditions),
        reference=reference,
        support=hits,
        share_errors=hits / n if n else 0.0,
        share_reference=ref_hits / n_ref if n_ref else 0.0,
        reference_n=n_ref,
        lift=_lift(hits, n, ref_hits, n_ref),
    )


def _gain(pattern: EvidencePattern) -> float:
    return pattern.share_errors - pattern.share_reference


def find_patterns(
    target: np.ndarray,
    reference_values: np.ndarray,
    features: Sequence[str],
    reference: Reference,
    limit: int = 3,
) -> list[EvidencePattern]:
    """The ``limit`` best single- or two-condition patterns of ``target`` rows vs reference rows.

    Nothing is returned with fewer than ``MIN_SUPPORT`` rows in either group (no contrast).

    Args:
        target, reference_values: z-scores, shape (clips, len(features)), NaN where missing.
    """
    if min(len(target), len(reference_values)) < MIN_SUPPORT or not len(features):
        return []
    thresholds = _thresholds(np.vstack([target, reference_values]))
    held, held_ref = _holds(target, thresholds), _holds(reference_values, thresholds)
    gain = held.mean(axis=0) - held_ref.mean(axis=0)
    gain[held.sum(axis=0) < MIN_SUPPORT] = -np.inf
    singles = []
    for flat in np.argsort(-gain, axis=None, kind="stable"):
        j, t, side = np.unravel_index(flat, gain.shape)
        if not np.isfinite(gain[j, t, side]) or gain[j, t, side] <= 0:
            break
        if all(j != other for other, _ in singles):
            condition = Condition(
                feature=features[j], op=">" if side == 0 else "<", value=float(thresholds[j, t])
            )
            singles.append((j, (condition, held[:, j, t, side], held_ref[:, j, t, side])))
        if len(singles) == PAIR_POOL:
            break
    candidates = [
        _pattern([c], mask, ref_mask, reference) for _, (c, mask, ref_mask) in singles
    ]
    for (_, (ca, ma, ra)), (_, (cb, mb, rb)) in combinations(singles, 2):
        if (ma & mb).sum() >= MIN_SUPPORT:
            candidates.append(_pattern([ca, cb], ma & mb, ra & rb, reference))
    candidates.sort(key=lambda p: (-_gain(p), len(p.conditions), p.text))
    return candidates[:limit]
