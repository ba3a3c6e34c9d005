"""Probabilities under other class priors.

:func:`temper` mixes an out-of-domain clip's probabilities towards a prior by its out-of-domain
score (:mod:`vietser.acoustic.domain`), so that such a clip is never reported with high
confidence: fully so far from the training data.

:func:`adjust_to_priors` and :func:`estimate_priors_em` correct calibrated
posteriors for a deployment whose class frequencies differ from training
(mostly calm calls, few panics), after M. Saerens, P. Latinne and
C. Decaestecker (2002), "Adjusting the outputs of a classifier to new a priori
probabilities: a simple procedure", Neural Computation 14(1), 21-41: the
first when the deployment prior is known (:func:`parse_priors` reads it from
the command line), the second estimates it from unlabelled deployment
posteriors by expectation-maximisation. :func:`adjust_to_speaker_mix` uses the
same EM per speaker, for speakers whose clips hardly vary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from vietser.errors import ConfigError
from vietser.labels import CLASSES

_PRIOR_SUM_TOLERANCE = 1e-6

TargetPriors = np.ndarray | Literal["auto"] | None


def temper(
    probabilities: ArrayLike,
    ood_score: ArrayLike,
    prior: ArrayLike,
    start: float = 1.0,
    full: float = 3.0,
) -> np.ndarray:
    """Mix each row towards ``prior`` by λ = clip((ood − start) / (full − start), 0, 1).

    Rows with ``ood_score <= start`` are returned unchanged (renormalised),
    rows with ``ood_score >= full`` or a NaN score become ``prior``.

    Raises:
        ValueError: shapes disagree, ``full <= start``, or a probability or the prior is invalid.
    """
    if not full > start:
        raise ValueError(f"full ({full}) must be greater than start ({start})")
    rows = _probability_rows(probabilities)
    target = _distribution(prior, "prior", rows.shape[1])
    scores = np.asarray(ood_score, dtype=np.float64).reshape(-1)
    if scores.shape[0] != rows.shape[0]:
        raise ValueError(f"{scores.shape[0]} ood scores for {rows.shape[0]} probability rows")
    weight = np.nan_to_num(np.clip((scores - start) / (full - start), 0.0, 1.0), nan=1.0)[:, None]
    mixed = (1.0 - weight) * rows + weight * target
    return mixed / mixed.sum(axis=1, keepdims=True)


def adjust_to_priors(probabilities: ArrayLike, train_prior: ArrayLike, target_prior: ArrayLike) -> np.ndarray:
    """Posteriors under ``target_prior`` from posteriors under ``train_prior``: p' ∝ p · target / train.

    Raises:
        ValueError: shapes disagree, a prior is invalid or ``train_prior`` has a zero, or a row's
            whole probability is on classes whose target prior is zero.
    """
    rows = _probability_rows(probabilities)
    train = _distribution(train_prior, "train_prior", rows.shape[1])
    if np.any(train == 0):
        raise ValueError(f"train_prior must be positive for every class, got {train.tolist()}")
    target = _distribution(target_prior, "target_prior", rows.shape[1])
    return _reweight(rows, target / train)


@dataclass(frozen=True, eq=False)
class PriorEstimate:
    """Class priors estimated by :func:`estimate_priors_em` (read-only array, CLASSES order)."""

    priors: np.ndarray
    iterations: int
    converged: bool


def estimate_priors_em(
    probabilities: ArrayLike,
    train_prior: ArrayLike,
    max_iter: int = 100,
    tol: float = 1e-6,
    pseudo_rows: float = 0.0,
) -> PriorEstimate:
    """Estimate the class priors of unlabelled rows by the EM of Saerens et al. (2002).

    ``probabilities`` must be calibrated posteriors of a classifier trained
    under ``train_prior``. Each step adjusts them to the current estimate and
    takes their mean as the next one; it stops when no prior moves by more
    than ``tol`` or after ``max_iter`` steps (``converged`` is then False).
    ``pseudo_rows`` adds that many rows at ``train_prior`` to every mean (a
    Dirichlet prior on the estimate): with a few rows, plain EM runs to a
    prior of 0 for any class the rows lean away from.

    Raises:
        ValueError: no rows, shapes disagree, ``train_prior`` is invalid or has a zero,
            ``max_iter < 1``, ``tol <= 0`` or ``pseudo_rows < 0``.
    """
    if not pseudo_rows >= 0:
        raise ValueError(f"pseudo_rows must be non-negative, got {pseudo_rows}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol}")
    rows = _probability_rows(probabilities)
    if rows.shape[0] == 0:
        raise ValueError("cannot estimate priors from zero rows")
    train = _distribution(train_prior, "train_prior", rows.shape[1])
    if np.any(train == 0):
        raise ValueError(f"train_prior must be positive for every class, got {train.tolist()}")
    priors = train
    for iteration in range(1, max_iter + 1):
        updated = (_reweight(rows, priors / train).sum(axis=0) + pseudo_rows * train) / (len(rows) + pseudo_rows)
        step = float(np.max(np.abs(updated - priors)))
        priors = updated
        if step < tol:
            break
    priors.setflags(write=False)
    return PriorEstimate(priors=priors, iterations=iteration, converged=step < tol)


# A speaker's class mix is estimated as if they had this many more clips at the training prior: one
# per class, so that ten clips that lean calm make a calm speaker without ruling the other classes out.
SPEAKER_MIX_PSEUDO_CLIPS = float(len(CLASSES))


def adjust_to_speaker_mix(
    probabilities: ArrayLike, speakers: ArrayLike, chosen: ArrayLike, train_prior: ArrayLike
) -> np.ndarray:
    """The ``chosen`` rows' posteriors adjusted to their own speaker's class mix, estimated by EM from
    that speaker's chosen rows alone (:func:`estimate_priors_em` with :data:`SPEAKER_MIX_PSEUDO_CLIPS`);
    the other rows unchanged.

    For a speaker whose clips hardly vary (a caller calm throughout, a speaker read in one state),
    the clips share one state, and a model that is unsure of each clip on its own, as one is off its
    training corpus, is surer of them together: 10 calm clips each called calm with 0.6 make a speaker
    who is calm, and each clip then calm with more than 0.6.

    Raises:
        ValueError: shapes disagree, or ``train_prior`` is invalid or has a zero.
    """
    rows = _probability_rows(probabilities)
    speakers, chosen = np.asarray(speakers), np.asarray(chosen, dtype=bool)
    if speakers.shape != (len(rows),) or chosen.shape != (len(rows),):
        raise ValueError(f"speakers and chosen need one entry per row ({len(rows)})")
    adjusted = rows.copy()
    for speaker in np.unique(speakers[chosen]):
        own = chosen & (speakers == speaker)
        mix = estimate_priors_em(rows[own], train_prior, pseudo_rows=SPEAKER_MIX_PSEUDO_CLIPS).priors
        adjusted[own] = adjust_to_priors(rows[own], train_prior, mix)
    return adjusted


def parse_priors(text: str, classes: Sequence[str] = CLASSES) -> np.ndarray:
    """Read class priors such as ``"calm=0.9,angry=0.07,panic=0.03"`` into an array in ``classes`` order.

    Classes left out share what the given ones leave below 1 equally; the
    result is normalised to sum to 1.

    Raises:
        ConfigError: an item is not ``name=value``, a name is not a class or is repeated, a value
            is negative or not a number, the values sum above 1, or every prior is zero.
    """
    listed = ", ".join(classes)
    given: dict[str, float] = {}
    for item in text.split(","):
        name, separator, value_text = item.partition("=")
        name = name.strip()
        if not separator or not name:
            raise ConfigError(f"priors item {item.strip()!r} is not name=value (classes: {listed})")
        if name not in classes:
            raise ConfigError(f"unknown class {name!r} in priors; the classes are {listed}")
        if name in given:
            raise ConfigError(f"class {name!r} is given twice in priors")
        try:
            value = float(value_text)
        except ValueError:
            raise ConfigError(f"prior of {name!r} is not a number: {value_text.strip()!r}") from None
        if not (math.isfinite(value) and value >= 0):
            raise ConfigError(f"prior of {name!r} must be a non-negative number, got {value_text.strip()}")
        given[name] = value
    total = sum(given.values())
    if total > 1 + _PRIOR_SUM_TOLERANCE:
        raise ConfigError(f"priors sum to {total:g}, above 1; give fractions of 1 ({text!r})")
    missing = [name for name in classes if name not in given]
    share = (1.0 - total) / len(missing) if missing else 0.0
    priors = np.array([given.get(name, share) for name in classes], dtype=np.float64)
    priors = np.maximum(priors, 0.0)
    if not priors.sum() > 0:
        raise ConfigError(f"priors {text!r} are all zero")
    return priors / priors.sum()


def _probability_rows(probabilities: ArrayLike) -> np.ndarray:
    rows = np.asarray(probabilities, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"probabilities must be a 2-D array (rows x classes), got {rows.ndim} dimensions")
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise ValueError("probabilities must be finite and non-negative")
    sums = rows.sum(axis=1, keepdims=True)
    if np.any(sums == 0):
        raise ValueError("a probability row sums to zero")
    return rows / sums


def _distribution(values: ArrayLike, name: str, n_classes: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.shape[0] != n_classes:
        raise ValueError(f"{name} has {array.shape[0]} entries for {n_classes} classes")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or not array.sum() > 0:
        raise ValueError(f"{name} must be finite, non-negative and not all zero, got {array.tolist()}")
    return array / array.sum()


def _reweight(rows: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    weighted = rows * ratio
    sums = weighted.sum(axis=1, keepdims=True)
    if np.any(sums == 0):
        raise ValueError("a probability row has all its mass on classes whose target prior is zero")
    return weighted / sums
