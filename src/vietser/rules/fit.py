"""Fit the rule engine to the training speakers: rule weights and the acoustic prior weight.

The engine scores class ``c`` as ``prior_weight * log p(c) + sum of the weights of
the fired rules supporting c`` (:mod:`vietser.rules.core`). That is a conditional
logit with one shared coefficient on the log prior and one coefficient per rule, so
both can be fitted by maximum likelihood on labelled clips — as long as the
acoustic probabilities of those clips are honest, i.e. out-of-fold: the acoustic
model never saw the clip's speaker (:func:`oof_probabilities`).

Only clips the acoustic model is unsure of are used (``FitSettings.ambiguous_share``):
the engine only decides delegated clips, and what a rule is worth there differs
from what it is worth on average. Optionally, rules are first induced on those
same ambiguous clips (:func:`vietser.rules.induce.induce_rules`), so the rulebook
gains rules for exactly where the model hesitates; the fit then keeps the ones
that add to the prior (weight above ``min_weight``) and disables the rest.

Example::

    fitted = fit_rulebook(features[features.split == "train"], config.acoustic, default_rulebook())
    engine = RuleEngine(fitted.rulebook, prior_weight=fitted.prior_weight)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.model_selection import cross_val_predict

from vietser.acoustic import AcousticConfig, AcousticModel, CVResult, speaker_folds
from vietser.data.channel import source_speakers
from vietser.errors import ConfigError, ManifestError
from vietser.labels import CLASSES
from vietser.rules.core import PROBABILITY_FLOOR, firing_matrix
from vietser.rules.induce import induce_rules
from vietser.rules.rulebook import Rule, Rulebook

MAX_FITTED_WEIGHT = 3.0
MAX_PRIOR_WEIGHT = 5.0


@dataclass(frozen=True)
class FitSettings:
    """How :func:`fit_rulebook` fits.

    Attributes:
        n_folds: speaker-grouped folds for the out-of-fold acoustic probabilities.
        ambiguous_share: the share of training clips, least confident (max probability)
            first, that the weights are fitted on; 1.0 uses every clip.
        induce: also induce rules on the ambiguous clips and fit them with the rulebook's.
        l2: ridge penalty on the rule weights (per fitted clip), shrinking them towards 0.
        min_weight: fitted weights below this disable the rule (induced ones are dropped).
        fit_prior_weight: fit the prior weight; else keep ``prior_weight``.
        prior_weight: the prior weight when it is not fitted.
        max_depth: depth of the induction trees.
        min_precision: precision an induced candidate needs on the ambiguous clips.
        fit_base: fit the base rulebook's enabled rules too; else (the default, better on
            RAVDESS) they are kept in the rulebook, disabled.
    """

    n_folds: int = 5
    ambiguous_share: float = 0.4
    induce: bool = True
    l2: float = 0.03
    min_weight: float = 0.05
    fit_prior_weight: bool = True
    prior_weight: float = 1.0
    max_depth: int = 2
    min_precision: float = 0.6
    fit_base: bool = False

    def check(self) -> None:
        if not 0 < self.ambiguous_share <= 1:
            raise ConfigError(f"ambiguous_share must be in (0, 1], got {self.ambiguous_share}")
        if self.n_folds < 2:
            raise ConfigError(f"n_folds must be at least 2, got {self.n_folds}")
        if self.l2 < 0 or self.min_weight < 0 or self.prior_weight < 0:
            raise ConfigError("l2, min_weight and prior_weight must be >= 0")


@dataclass(frozen=True)
class FittedRules:
    """A rulebook with fitted weights, the fitted prior weight, and a Markdown report."""

    rulebook: Rulebook
    prior_weight: float
    report: str
    n_fit_clips: int


def oof_probabilities(
    train: pd.DataFrame, config: AcousticConfig, n_folds: int = 5, tuned: CVResult | None = None
) -> np.ndarray:
    """Acoustic probabilities of every row of ``train``, each from a model that never heard its speaker
    (nor the speaker's channel copies).

    An :class:`~vietser.acoustic.AcousticModel` with ``config`` is fitted on the other folds'
    speakers (speaker-grouped, stratified folds), with the hyperparameters of ``tuned`` when given
    (a search on all of ``train``: each fold model then skips its own). ``y`` stays in the frame:
    ``cross_val_predict`` would encode it as integers for ``predict_proba``, and the model reads class names.
    """
    labels = train["label"].astype(str).to_numpy()
    speakers = source_speakers(train["speaker"])
    config = config.model_copy(update={"measure_calibration": False})
    folds = speaker_folds(labels, speakers, n_folds, config.seed)
    return cross_val_predict(AcousticModel(config, tuned=tuned), train, cv=folds, method="predict_proba")


def _softmax(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fit_weights(
    log_prior: np.ndarray,
    firings: np.ndarray,
    supports: np.ndarray,
    labels: np.ndarray,
    *,
    l2: float = 0.01,
    prior_weight: float | None = None,
) -> tuple[float, np.ndarray]:
    """Maximum-likelihood prior weight and rule weights of the engine's scoring, both >= 0.

    Args:
        log_prior: (n, K) log acoustic probabilities.
        firings: (n, R) boolean, rule r fired on clip i.
        supports: (R,) class index each rule supports.
        labels: (n,) true class indices.
        l2: ridge penalty on the rule weights, per clip.
        prior_weight: keep this prior weight fixed instead of fitting it.

    Returns:
        (prior_weight, weights of the R rules).
    """
    n, k = log_prior.shape
    n_rules = firings.shape[1]
    # support[r, c] = 1 when rule r supports class c: rule bonuses per class are firings @ support.
    support = np.zeros((n_rules, k))
    support[np.arange(n_rules), supports] = 1.0
    fired = firings.astype(float)
    onehot = np.eye(k)[labels]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a = theta[0] if prior_weight is None else prior_weight
        w = theta[1:] if prior_weight is None else theta
        p = _softmax(a * log_prior + fired @ (w[:, None] * support))
        nll = -np.sum(np.log(np.maximum(p[np.arange(n), labels], 1e-12))) / n
        residual = onehot - p
        grad_w = -np.einsum("ir,ir->r", fired, residual @ support.T) / n + 2 * l2 * w
        value = nll + l2 * float(w @ w)
        if prior_weight is not None:
            return value, grad_w
        grad_a = -float(np.sum(residual * log_prior)) / n
        return value, np.concatenate([[grad_a], grad_w])

    start = np.full(n_rules, 0.1) if prior_weight is not None else np.concatenate([[1.0], np.full(n_rules, 0.1)])
    bounds = [(0.0, MAX_FITTED_WEIGHT)] * n_rules
    if prior_weight is None:
        bounds = [(0.0, MAX_PRIOR_WEIGHT), *bounds]
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    if prior_weight is None:
        return float(result.x[0]), result.x[1:]
    return float(prior_weight), result.x


def ambiguous_rows(probabilities: np.ndarray, share: float) -> np.ndarray:
    """Indices of the ``share`` of clips with the lowest top probability."""
    n = max(1, int(round(share * len(probabilities))))
    return np.argsort(probabilities.max(axis=1), kind="stable")[:n]


def _candidate_rules(base: Rulebook, ambiguous: pd.DataFrame, settings: FitSettings) -> list[Rule]:
    rules = [rule for rule in base.rules if rule.enabled and settings.fit_base]
    if not settings.induce:
        return rules
    taken = {rule.id for rule in base.rules}
    induced = induce_rules(
        ambiguous,
        max_depth=settings.max_depth,
        min_samples_leaf=max(5, len(ambiguous) // 20),
        min_precision=settings.min_precision,
    ).rulebook.rules
    return rules + [rule for rule in induced if rule.id not in taken]


def _refitted(base: Rulebook, candidates: Sequence[Rule], weights: np.ndarray, min_weight: float) -> Rulebook:
    fitted = {rule.id: float(round(w, 2)) for rule, w in zip(candidates, weights)}
    base_ids = {rule.id for rule in base.rules}
    rules = []
    for rule in candidates:
        keep = fitted[rule.id] >= min_weight
        if rule.id not in base_ids and not keep:
            continue
        rules.append(rule.model_copy(update={"weight": fitted[rule.id]} if keep else {"enabled": False}))
    fitted_ids = set(fitted)
    rules += [rule.model_copy(update={"enabled": False}) for rule in base.rules if rule.id not in fitted_ids]
    return base.model_copy(
        update={
            "name": f"{base.name}-fitted",
            "version": base.version + 1,
            "description": f"{base.description} Weights fitted on out-of-fold acoustic probabilities of the training speakers.".strip(),
            "rules": rules,
        }
    )


def _report(candidates: Sequence[Rule], before: Sequence[float], weights: np.ndarray, prior_weight: float, n: int) -> str:
    lines = [
        "# Fitted rule weights",
        "",
        f"{n} ambiguous training clips (out-of-fold acoustic probabilities); prior weight {prior_weight:.2f}.",
        "",
        "| rule | class | provenance | weight before | fitted |",
        "|---|---|---|---:|---:|",
    ]
    lines += [
        f"| {rule.id} | {rule.supports} | {rule.provenance} | {old:g} | {new:.2f} |"
        for rule, old, new in zip(candidates, before, weights)
    ]
    return "\n".join(lines) + "\n"


def fit_rulebook(
    train: pd.DataFrame,
    acoustic: AcousticConfig,
    base: Rulebook,
    settings: FitSettings | None = None,
    *,
    probabilities: np.ndarray | None = None,
) -> FittedRules:
    """Fit ``base``'s rule weights (and the prior weight) on the training speakers.

    Args:
        train: features rows of the training speakers only (``label``, ``speaker``, ``z.`` columns).
        acoustic: the run's acoustic configuration, for the out-of-fold probabilities.
        base: the rulebook to start from; its disabled rules stay as they are.
        settings: see :class:`FitSettings`.
        probabilities: out-of-fold acoustic probabilities of ``train`` when already computed.

    Raises:
        ManifestError: ``train`` has no labelled rows.
        ConfigError: invalid settings, or ``probabilities`` of the wrong shape.
    """
    settings = settings or FitSettings()
    settings.check()
    if train.empty:
        raise ManifestError("no training rows to fit the rule weights on; pass the train split's rows")
    train = train.reset_index(drop=True)
    if probabilities is None:
        probabilities = oof_probabilities(train, acoustic, settings.n_folds)
    if probabilities.shape != (len(train), len(CLASSES)):
        raise ConfigError(f"probabilities have shape {probabilities.shape}; expected ({len(train)}, {len(CLASSES)})")
    rows = ambiguous_rows(probabilities, settings.ambiguous_share)
    ambiguous = train.iloc[rows]
    candidates = _candidate_rules(base, ambiguous, settings)
    labels = np.array([CLASSES.index(str(label)) for label in ambiguous["label"]])
    prior_weight, weights = fit_weights(
        np.log(np.maximum(probabilities[rows], PROBABILITY_FLOOR)),
        firing_matrix(ambiguous, candidates),
        np.array([CLASSES.index(rule.supports) for rule in candidates], dtype=int),
        labels,
        l2=settings.l2,
        prior_weight=None if settings.fit_prior_weight else settings.prior_weight,
    )
    rulebook = _refitted(base, candidates, weights, settings.min_weight)
    report = _report(candidates, [rule.weight for rule in candidates], weights, prior_weight, len(rows))
    return FittedRules(rulebook=rulebook, prior_weight=prior_weight, report=report, n_fit_clips=len(rows))
