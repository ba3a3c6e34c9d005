"""Scoring a rulebook on the dev set: the pipeline's decisions, computed for all clips at once.

The pipeline keeps the acoustic label on confident clips and asks the rule
engine on delegated ones (``scope="delegated"``); ``scope="all"`` scores the
"rules on every clip" baseline. Rules fire and clips are scored by the rule
core (:mod:`vietser.rules.core`), the code the engine runs, over the whole dev
set at once; the search scores dozens of candidate rulebooks per round, so
firing masks are cached per set of conditions (:class:`FiringCache`). Tests
check that the labels equal those of :func:`vietser.pipeline.decide` with a
:class:`~vietser.rules.engine.RuleEngine`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from vietser.errors import ConfigError
from vietser.evaluate.metrics import accuracy_from_confusion, macro_f1_from_confusion
from vietser.labels import CLASSES
from vietser.refine.devset import DevSet
from vietser.rules import core
from vietser.rules.phrases import fold_all
from vietser.rules.rulebook import Condition, Rule, Rulebook

Scope = Literal["delegated", "all"]


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
    """Where every condition holds on the dev clips (:meth:`DevSet.column` reads evidence as the engine does)."""
    columns = {core.frame_column(c): dev.column(c.feature, c.scale) for c in conditions if not c.on_transcript}
    texts = fold_all(dev.transcripts) if dev.transcripts is not None else None
    return core.conditions_hold(core.FeatureColumns(len(dev), columns, texts), conditions)


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
    cache = cache or FiringCache(dev)
    rules = [rule for rule in rulebook.rules if rule.enabled]
    fires = np.zeros((len(dev), len(rules)), dtype=bool)
    for j, rule in enumerate(rules):
        fires[:, j] = cache.fires(rule)
    return core.rule_labels(dev.prior, fires, rules, prior_weight)


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
