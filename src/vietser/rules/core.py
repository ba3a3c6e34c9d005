"""The rule core: which rules fire on which clips, and the class each clip then gets.

Every user of a rulebook goes through here, a batch of clips at a time: the engine
(:mod:`vietser.rules.engine`, one row per request), fitting (:mod:`vietser.rules.fit`),
induction (:mod:`vietser.rules.induce`) and refinement's dev scorer
(:mod:`vietser.refine.scoring`).

Firing. A rule fires on a clip when every condition in its ``when`` holds. A condition
with the default ``scale: z`` reads the feature-frame column ``z.<feature>``, one with
``scale: raw`` the column ``<feature>``; a missing column and a NaN or infinite value
never hold. A transcript condition (``op: mentions``) reads the clip's folded transcript
(:mod:`vietser.rules.phrases`); a clip without one never mentions anything. A clip outside the training domain fires no rule (its thresholds were
fitted on the training clips). :func:`firing_matrix` ignores ``enabled``; scoring
leaves disabled rules out.

Scoring, per class ``c`` in CLASSES order::

    score(c) = prior_weight * log(max(prior(c), 1e-6))
               + sum(weight of the fired rules supporting c)
    P(c)     = softmax(score)(c)

The label is the most probable class. Probabilities equal to 9 decimals tie; a tie goes
to the class backed by the highest-priority fired rule, then to CLASSES order. A clip
on which no rule fires keeps the ranking of its prior.

The arithmetic is done operation for operation as for a single clip: weights are added
highest priority first, ``log`` and ``exp`` are the C library's (numpy's vectorised ones
differ in the last bit on some CPUs) and ties are found with Python's ``round``, so a
clip gets the same probabilities whether it is scored alone or in a batch.

Example::

    fires = firing_matrix(features_table, rulebook.rules)
    scores = score_clips(prior, fires, rulebook.rules, prior_weight=1.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vietser.decision import ClipEvidence
from vietser.errors import ConfigError
from vietser.features.catalog import Z_PREFIX
from vietser.labels import CLASSES
from vietser.rules.phrases import fold_all, mentions
from vietser.rules.rulebook import TRANSCRIPT, Condition, Rule

PROBABILITY_FLOOR = 1e-6
TIE_DECIMALS = 9


@dataclass(frozen=True)
class RuleScores:
    """Class probabilities and labels of a batch of clips under one rulebook.

    Attributes:
        probabilities: shape (n clips, len(CLASSES)), each row a softmax.
        labels: shape (n clips,), indices into CLASSES.
    """

    probabilities: np.ndarray
    labels: np.ndarray


def frame_column(condition: Condition) -> str:
    """The feature-frame column a condition reads: ``z.<feature>`` (scale z), ``<feature>`` (raw) or
    ``transcript``."""
    if condition.on_transcript:
        return TRANSCRIPT
    return Z_PREFIX + condition.feature if condition.scale == "z" else condition.feature


def evidence_value(evidence: ClipEvidence, condition: Condition) -> float:
    """The value a condition compares on one clip's evidence; NaN where the clip lacks it.

    A z condition looks up the z-score under the raw name, then under ``z.<name>``; a transcript
    condition has no value (NaN).
    """
    if condition.on_transcript:
        return math.nan
    if condition.scale == "raw":
        value = evidence.values.get(condition.feature)
    else:
        value = evidence.z.get(condition.feature, evidence.z.get(Z_PREFIX + condition.feature))
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class FeatureColumns:
    """The feature-frame columns some conditions read, as float arrays over the same clips, and the
    clips' folded transcripts (None: no transcripts, so no transcript condition holds)."""

    n_clips: int
    columns: Mapping[str, np.ndarray]
    texts: tuple[str, ...] | None = None

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, conditions: Iterable[Condition]) -> FeatureColumns:
        """The columns of a features table (fitting, induction) that ``conditions`` read."""
        conditions = list(conditions)
        names = {frame_column(c) for c in conditions if not c.on_transcript}
        present = [name for name in names if name in frame.columns]
        reads_text = TRANSCRIPT in frame.columns and any(c.on_transcript for c in conditions)
        texts = fold_all(frame[TRANSCRIPT]) if reads_text else None
        return cls(len(frame), {name: frame[name].to_numpy(dtype=float) for name in present}, texts)

    @classmethod
    def from_evidence(
        cls,
        evidence: Sequence[ClipEvidence],
        conditions: Iterable[Condition],
        transcripts: Sequence[str | None] | None = None,
    ) -> FeatureColumns:
        """The columns ``conditions`` read from clips' evidence (the engine), NaN where missing, and
        the clips' ``transcripts`` (one per clip) folded."""
        readers = {frame_column(c): c for c in conditions if not c.on_transcript}
        columns = {
            name: np.array([evidence_value(e, condition) for e in evidence], dtype=float)
            for name, condition in readers.items()
        }
        return cls(len(evidence), columns, None if transcripts is None else fold_all(transcripts))


Features = pd.DataFrame | FeatureColumns


def _columns(features: Features, conditions: Iterable[Condition]) -> FeatureColumns:
    if isinstance(features, FeatureColumns):
        return features
    return FeatureColumns.from_frame(features, conditions)


def condition_holds(condition: Condition, values: np.ndarray) -> np.ndarray:
    """Where one condition holds on an array of observed values (NaN and ±inf never hold)."""
    with np.errstate(invalid="ignore"):
        if condition.op == "between":
            holds = (values >= condition.low) & (values <= condition.high)
        elif condition.op == ">":
            holds = values > condition.value
        elif condition.op == ">=":
            holds = values >= condition.value
        elif condition.op == "<":
            holds = values < condition.value
        else:
            holds = values <= condition.value
    return holds & np.isfinite(values)


def conditions_hold(features: Features, conditions: Sequence[Condition]) -> np.ndarray:
    """Where every condition holds, one entry per clip; a column the features lack never holds."""
    columns = _columns(features, conditions)
    holds = np.ones(columns.n_clips, dtype=bool)
    for condition in conditions:
        if condition.on_transcript:
            if columns.texts is None:
                return np.zeros(columns.n_clips, dtype=bool)
            holds &= mentions(columns.texts, condition.phrases or [])
            continue
        values = columns.columns.get(frame_column(condition))
        if values is None:
            return np.zeros(columns.n_clips, dtype=bool)
        holds &= condition_holds(condition, values)
    return holds


def firing_matrix(
    features: Features, rules: Sequence[Rule], out_of_domain: Sequence[bool] | np.ndarray | None = None
) -> np.ndarray:
    """Boolean (n clips, n rules): where each rule fires; rows marked ``out_of_domain`` fire none."""
    columns = _columns(features, [c for rule in rules for c in rule.when])
    fires = np.zeros((columns.n_clips, len(rules)), dtype=bool)
    for j, rule in enumerate(rules):
        fires[:, j] = conditions_hold(columns, rule.when)
    if out_of_domain is not None:
        fires[np.asarray(out_of_domain, dtype=bool)] = False
    return fires


def priority_order(rules: Sequence[Rule]) -> list[int]:
    """Indices of the enabled rules, highest priority first, then rulebook order."""
    enabled = [j for j, rule in enumerate(rules) if rule.enabled]
    return sorted(enabled, key=lambda j: -rules[j].priority)


def check_prior_weight(prior_weight: float) -> None:
    """Raise ConfigError unless the prior weight is a finite number >= 0."""
    if not (math.isfinite(prior_weight) and prior_weight >= 0):
        raise ConfigError(f"prior_weight must be a finite number >= 0, got {prior_weight}")


def _libm(function: Callable[[float], float], values: np.ndarray) -> np.ndarray:
    flat = map(function, values.ravel().tolist())
    return np.fromiter(flat, dtype=float, count=values.size).reshape(values.shape)


def _softmax(scores: np.ndarray) -> np.ndarray:
    exponentials = _libm(math.exp, scores - scores.max(axis=1, keepdims=True))
    return exponentials / exponentials.sum(axis=1, keepdims=True)


def _tied(probabilities: np.ndarray) -> np.ndarray:
    """Which classes share the top probability to TIE_DECIMALS, found with Python's round.

    Rows whose top two differ by more than two rounding steps have a single top class,
    so only the others are rounded (round is slow; np.round scales by 10**9 and can round otherwise).
    """
    top = probabilities == probabilities.max(axis=1, keepdims=True)
    ordered = np.sort(probabilities, axis=1)
    close = ordered[:, -1] - ordered[:, -2] <= 2 * 10.0**-TIE_DECIMALS
    for i in np.flatnonzero(close):
        rounded = np.array([round(p, TIE_DECIMALS) for p in probabilities[i].tolist()])
        top[i] = rounded == rounded.max()
    return top


def _labels(probabilities: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """Most probable class per row; ties (to TIE_DECIMALS) by priority, then CLASSES order."""
    top = _tied(probabilities)
    best = np.where(top, priority, -np.inf).max(axis=1, keepdims=True)
    # argmax returns the first True, so classes still tied go in CLASSES order.
    return np.argmax(top & (priority == best), axis=1)


def _checked_prior(prior: np.ndarray, fires: np.ndarray, rules: Sequence[Rule], prior_weight: float) -> np.ndarray:
    check_prior_weight(prior_weight)
    prior = np.asarray(prior, dtype=float)
    if prior.shape != (len(fires), len(CLASSES)) or fires.shape[1:] != (len(rules),):
        raise ConfigError(
            f"prior has shape {prior.shape} and fires {fires.shape} for {len(rules)} rules; "
            f"expected (n, {len(CLASSES)}) and (n, {len(rules)})"
        )
    return np.maximum(prior, PROBABILITY_FLOOR)


def _class_scores(
    scores: np.ndarray, fires: np.ndarray, rules: Sequence[Rule]
) -> tuple[np.ndarray, np.ndarray]:
    """Add the fired rules' weights to the weighted log prior, highest priority first; with the
    best priority of the fired rules behind each class (-inf where none)."""
    priority = np.full(scores.shape, -np.inf)
    for j in priority_order(rules):
        rule, rows = rules[j], fires[:, j]
        column = CLASSES.index(rule.supports)
        scores[rows, column] += rule.weight
        priority[rows, column] = np.maximum(priority[rows, column], rule.priority)
    return scores, priority


def score_clips(
    prior: np.ndarray, fires: np.ndarray, rules: Sequence[Rule], prior_weight: float
) -> RuleScores:
    """Class probabilities and labels of every clip (method: module docstring).

    Args:
        prior: shape (n clips, len(CLASSES)), the acoustic probabilities as the engine reads
            them (:func:`vietser.rules.engine.acoustic_prior`).
        fires: shape (n clips, len(rules)), from :func:`firing_matrix`; disabled rules count for nothing.
        rules: the rules of the columns of ``fires``.
        prior_weight: how much the prior counts (0 = rules only).

    Raises:
        ConfigError: ``prior_weight`` is negative or not finite, or the shapes do not match.
    """
    floored = _checked_prior(prior, fires, rules, prior_weight)
    scores, priority = _class_scores(prior_weight * _libm(math.log, floored), fires, rules)
    probabilities = _softmax(scores)
    return RuleScores(probabilities=probabilities, labels=_labels(probabilities, priority))


def rule_labels(
    prior: np.ndarray, fires: np.ndarray, rules: Sequence[Rule], prior_weight: float
) -> np.ndarray:
    """The labels of :func:`score_clips`, faster: numpy's log and exp, exact where it matters.

    numpy's vectorised log and exp differ from the C library's by a few units in the last
    place, far below the 1e-9 that separates classes; rows whose top two probabilities
    come within 1e-8 are scored again with :func:`score_clips`.
    """
    floored = _checked_prior(prior, fires, rules, prior_weight)
    scores, priority = _class_scores(prior_weight * np.log(floored), fires, rules)
    exponentials = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities = exponentials / exponentials.sum(axis=1, keepdims=True)
    labels = np.argmax(probabilities, axis=1)
    ordered = np.sort(probabilities, axis=1)
    close = ordered[:, -1] - ordered[:, -2] <= 1e-8
    if close.any():
        labels[close] = score_clips(floored[close], fires[close], rules, prior_weight).labels
    return labels
