"""Scoring a rulebook on the dev set: the pipeline's decisions, computed for all clips at once.

The pipeline keeps the acoustic label on confident clips and asks the rule
engine on delegated ones (``scope="delegated"``); ``scope="all"`` scores the
"rules on every clip" baseline. The engine's arithmetic
(:mod:`vietser.rules.engine`) is repeated here over arrays, because the search
scores dozens of candidate rulebooks per round: per class,
``prior_weight * log(max(prior, 1e-6)) + sum of fired weights``, softmax, then
the most probable class, ties (to 1e-9) going to the class backed by the
highest-priority fired rule, then to CLASSES order. Tests check that the labels
equal those of :func:`vietser.pipeline.decide` with a
:class:`~vietser.rules.engine.RuleEngine`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from vietser.errors import ConfigError
from vietser.evaluate.metrics import accuracy_from_confusion, macro_f1_from_confusion
from vietser.labels import CLASSES
from vietser.refine.devset import DevSet
from vietser.rules.engine import PROBABILITY_FLOOR
from vietser.rules.rulebook import Condition, Rule, Rulebook

Scope = Literal["delegated", "all"]
_NO_RULE = -1e18


class DevScore(BaseModel):
    """The pipeline's dev predictions under one rulebook, and their scores."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    macro_f1: float
    accuracy: float
    delegation_rate: float
    predictions: tuple[str, ...]


def rule_fires(dev: DevSet, rule: Rule) -> np.ndarray:
    """Where every condition of ``rule`` holds (a missing value never holds); ignores ``enabled``."""
    return conditions_hold(dev, rule.when)


def conditions_hold(dev: DevSet, conditions: Sequence[Condition]) -> np.ndarray:
    """Where every condition holds, with the engine's semantics (a missing value never holds)."""
    fires = np.ones(len(dev), dtype=bool)
    for condition in conditions:
        x = dev.column(condition.feature, condition.scale)
        with np.errstate(invalid="ignore"):
            if condition.op == "between":
                holds = (x >= condition.low) & (x <= condition.high)
            else:
                holds = _compare(condition.op, x, float(condition.value))  # type: ignore[arg-type]
        fires &= holds & ~np.isnan(x)
    return fires


def _compare(op: str, x: np.ndarray, value: float) -> np.ndarray:
    if op == ">":
        return x > value
    if op == ">=":
        return x >= value
    if op == "<":
        return x < value
    return x <= value


class FiringCache:
    """Firing masks of rules on one dev set, keyed by their conditions (edits reuse most rules)."""

    def __init__(self, dev: DevSet) -> None:
        self.dev = dev
        self._masks: dict[str, np.ndarray] = {}

    def fires(self, rule: Rule) -> np.ndarray:
        key = json.dumps([c.model_dump() for c in rule.when], sort_keys=True)
        if key not in self._masks:
            self._masks[key] = rule_fires(self.dev, rule)
        return self._masks[key]


def engine_labels(
    dev: DevSet, rulebook: Rulebook, prior_weight: float = 1.0, cache: FiringCache | None = None
) -> np.ndarray:
    """The rule engine's label (index into CLASSES) for every dev clip."""
    if not (math.isfinite(prior_weight) and prior_weight >= 0):
        raise ConfigError(f"prior_weight must be a finite number >= 0, got {prior_weight}")
    cache = cache or FiringCache(dev)
    scores = prior_weight * np.log(np.maximum(dev.prior, PROBABILITY_FLOOR))
    priority = np.full(scores.shape, _NO_RULE)
    for rule in rulebook.rules:
        if not rule.enabled:
            continue
        fires = cache.fires(rule)
        column = CLASSES.index(rule.supports)
        scores[fires, column] += rule.weight
        priority[fires, column] = np.maximum(priority[fires, column], rule.priority)
    exponentials = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities = np.round(exponentials / exponentials.sum(axis=1, keepdims=True), 9)
    top = probabilities == probabilities.max(axis=1, keepdims=True)
    # argmax returns the first maximum, so remaining ties go to CLASSES order.
    return np.argmax(np.where(top, priority, 2 * _NO_RULE), axis=1)


def pipeline_labels(
    dev: DevSet,
    rulebook: Rulebook,
    *,
    prior_weight: float = 1.0,
    scope: Scope = "delegated",
    cache: FiringCache | None = None,
) -> np.ndarray:
    """Acoustic labels on confident clips, rule-engine labels where the rules decide."""
    decided = rules_decide(dev, scope)
    return np.where(decided, engine_labels(dev, rulebook, prior_weight, cache), dev.acoustic)


def rules_decide(dev: DevSet, scope: Scope) -> np.ndarray:
    """Mask of the clips the rulebook decides under ``scope``."""
    if scope == "all":
        return np.ones(len(dev), dtype=bool)
    if scope == "delegated":
        return dev.delegated
    raise ConfigError(f"scope must be 'delegated' or 'all', got {scope!r}")


def confusion(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Confusion counts, true classes in rows, in CLASSES order."""
    k = len(CLASSES)
    return np.bincount(truth * k + predicted, minlength=k * k).reshape(k, k)


def summarise(dev: DevSet, predicted: np.ndarray, scope: Scope = "delegated") -> DevScore:
    """Scores of predicted class indices against the dev labels."""
    counts = confusion(dev.truth, predicted)
    return DevScore(
        macro_f1=float(macro_f1_from_confusion(counts)),
        accuracy=float(accuracy_from_confusion(counts)),
        delegation_rate=float(rules_decide(dev, scope).mean()) if len(dev) else 0.0,
        predictions=tuple(CLASSES[i] for i in predicted),
    )


def score(
    dev: DevSet, rulebook: Rulebook, *, prior_weight: float = 1.0, scope: Scope = "delegated"
) -> DevScore:
    """Macro-F1 and accuracy of the pipeline with ``rulebook`` on the dev set."""
    predicted = pipeline_labels(dev, rulebook, prior_weight=prior_weight, scope=scope)
    return summarise(dev, predicted, scope)
