"""Confidence routing: which clips the acoustic model decides and which go to a reasoner.

Every confidence score is oriented so that higher means more confident:

* ``max_prob`` — the largest class probability.
* ``margin`` — largest minus second-largest probability.
* ``entropy`` — ``1 - H(p) / log(K)``: 1 for a one-hot vector, 0 for uniform.
* ``conformal`` — split-conformal prediction sets (LAC or APS) calibrated on
  development data; a clip is confident when its set holds exactly one class.
  A set of two or more classes (or an empty one) marks the clip ambiguous.

Thresholds are chosen on development data only, by one of the policies below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vietser.decision import Route
from vietser.errors import ConfigError, ModelError
from vietser.labels import CLASSES, label_indices
from vietser.run.dir import ROUTER_FILE

ScoreName = Literal["max_prob", "margin", "entropy", "conformal"]
ConformalMethod = Literal["lac", "aps"]
MAX_CANDIDATES = 512


class BestAccuracy(BaseModel):
    """Maximise expected pipeline accuracy on dev, given how often the reasoner is right."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["best_accuracy"] = "best_accuracy"


class DelegationBudget(BaseModel):
    """Delegate at most ``max_delegation`` of the clips (on dev), the least confident ones.

    With ``reasoner_correct`` given, the threshold within the budget with the
    best expected pipeline accuracy is chosen; without it, the whole budget is used.
    """

    model_config = ConfigDict(extra="forbid")
    kind: Literal["budget"] = "budget"
    max_delegation: float = Field(default=0.25, ge=0.0, le=1.0)


class TargetRisk(BaseModel):
    """Keep as many clips as possible while the error rate on kept clips stays below ``max_risk``.

    The dev error rate is replaced by its one-sided Clopper-Pearson upper bound
    at ``confidence``, so the target also tends to hold on unseen data.
    """

    model_config = ConfigDict(extra="forbid")
    kind: Literal["target_risk"] = "target_risk"
    max_risk: float = Field(ge=0.0, le=1.0)
    confidence: float = Field(default=0.9, gt=0.0, lt=1.0)


class ConformalCoverage(BaseModel):
    """Prediction sets that contain the true class with probability at least ``1 - alpha``."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["conformal_coverage"] = "conformal_coverage"
    alpha: float = Field(default=0.1, gt=0.0, lt=1.0)


RoutingPolicy = Annotated[
    BestAccuracy | DelegationBudget | TargetRisk | ConformalCoverage, Field(discriminator="kind")
]


class DevSummary(BaseModel):
    """How the chosen threshold does on the development data it was chosen on."""

    model_config = ConfigDict(extra="forbid")
    n_clips: int
    coverage: float = Field(description="fraction of clips the acoustic model keeps")
    risk: float = Field(description="error rate of the acoustic model on the kept clips")
    reasoner_accuracy: float | None = None
    expected_accuracy: float | None = Field(default=None, description="pipeline accuracy if the reasoner is as given")


class Router(BaseModel):
    """A chosen confidence threshold; saved as ``routing.json``.

    For continuous scores a clip is confident when ``score >= threshold``
    (``inf`` delegates everything). For ``conformal`` the threshold is the
    nonconformity quantile ``q``: the set is every class with nonconformity <= q.
    """

    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")

    score: ScoreName
    threshold: float
    policy: RoutingPolicy
    conformal_method: ConformalMethod = "lac"
    dev: DevSummary

    def is_confident(self, probabilities: np.ndarray) -> np.ndarray:
        """Boolean per clip: True where the acoustic decision is kept."""
        return _confident_masks(probabilities, self.score, self.conformal_method, np.array([self.threshold]))[0]

    def route(self, probabilities: np.ndarray, out_of_domain: np.ndarray | None = None) -> list[Route]:
        """The route of every clip; a clip outside the training domain is always delegated."""
        kept = self.is_confident(probabilities)
        if out_of_domain is not None:
            kept = kept & ~out_of_domain
        return [Route.CONFIDENT if confident else Route.DELEGATED for confident in kept]


@dataclass(frozen=True)
class RiskCoverage:
    """Risk–coverage curve: one point per distinct score, most confident first."""

    thresholds: np.ndarray
    coverage: np.ndarray
    risk: np.ndarray
    aurc: float


def confidence_scores(probabilities: np.ndarray, score: Literal["max_prob", "margin", "entropy"]) -> np.ndarray:
    """A confidence score per clip, higher = more confident (see module docstring)."""
    p = _checked(probabilities)
    top = -np.sort(-p, axis=1)
    if score == "max_prob":
        return top[:, 0]
    if score == "margin":
        return top[:, 0] - top[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=1)
    return 1.0 - entropy / math.log(p.shape[1])


def nonconformity(probabilities: np.ndarray, method: ConformalMethod = "lac") -> np.ndarray:
    """Nonconformity of every class for every clip, shape (n, K).

    LAC: ``1 - p_y``. APS (non-randomised): total probability of the classes
    ranked at or above ``y``.
    """
    p = _checked(probabilities)
    if method == "lac":
        return 1.0 - p
    order = np.argsort(-p, axis=1, kind="stable")
    cumulative = np.minimum(np.cumsum(np.take_along_axis(p, order, axis=1), axis=1), 1.0)
    scores = np.empty_like(p)
    np.put_along_axis(scores, order, cumulative, axis=1)
    return scores


def conformal_quantile(
    probabilities: np.ndarray, labels: Sequence[str] | np.ndarray, alpha: float, method: ConformalMethod = "lac"
) -> float:
    """Split-conformal threshold: sets built with it cover the true class with probability >= 1 - alpha."""
    true_scores = nonconformity(probabilities, method)[np.arange(len(labels)), label_indices(labels)]
    n = len(true_scores)
    level = math.ceil((n + 1) * (1 - alpha)) / n
    if level > 1:  # too few calibration clips for this alpha: only the full set is safe
        return 1.0
    return float(np.quantile(true_scores, level, method="higher"))


def prediction_sets(probabilities: np.ndarray, threshold: float, method: ConformalMethod = "lac") -> np.ndarray:
    """Boolean (n, K): class k is in clip i's conformal set."""
    return nonconformity(probabilities, method) <= threshold


def risk_coverage_curve(scores: np.ndarray, correct: np.ndarray) -> RiskCoverage:
    """Risk (error rate of the kept clips) against coverage, keeping clips from the most confident down.

    AURC is the area under this step curve; with distinct scores it equals the
    mean risk over the n prefixes (Geifman & El-Yaniv).
    """
    scores = np.asarray(scores, dtype=float)
    errors = ~np.asarray(correct, dtype=bool)
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    cumulative_errors = np.cumsum(errors[order])
    # last index of each run of equal scores: ties enter together
    ends = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
    kept = ends + 1
    coverage = kept / len(scores)
    risk = cumulative_errors[ends] / kept
    aurc = float(np.sum(np.diff(coverage, prepend=0.0) * risk))
    return RiskCoverage(thresholds=sorted_scores[ends], coverage=coverage, risk=risk, aurc=aurc)


def selective_accuracy(scores: np.ndarray, correct: np.ndarray, coverage: float) -> float:
    """Accuracy of the ``ceil(coverage * n)`` most confident clips."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    kept = max(1, math.ceil(coverage * len(order)))
    return float(np.mean(np.asarray(correct, dtype=bool)[order[:kept]]))


def choose_threshold(
    probabilities_dev: np.ndarray,
    labels_dev: Sequence[str] | np.ndarray,
    policy: RoutingPolicy,
    *,
    score: ScoreName = "max_prob",
    conformal_method: ConformalMethod = "lac",
    reasoner_correct: np.ndarray | float | None = None,
) -> Router:
    """Choose a threshold on development data by ``policy``.

    Args:
        probabilities_dev: acoustic probabilities on dev, columns in CLASSES order.
        labels_dev: true dev labels.
        policy: how to trade coverage against errors.
        score: which confidence score to threshold.
        reasoner_correct: per dev clip whether the reasoner got it right, or its
            accuracy as one number. Required by :class:`BestAccuracy`.

    Raises:
        ConfigError: the policy cannot be applied with these arguments.
    """
    p = _checked(probabilities_dev)
    if len(p) == 0 or len(p) != len(labels_dev):
        raise ConfigError(f"need dev probabilities and labels of one clip each, got {len(p)} and {len(labels_dev)}")
    correct = p.argmax(axis=1) == label_indices(labels_dev)
    reasoner = _reasoner_vector(reasoner_correct, len(correct), policy)
    if isinstance(policy, ConformalCoverage):
        if score != "conformal":
            raise ConfigError(f"the conformal_coverage policy needs score='conformal', not {score!r}")
        candidates = np.array([conformal_quantile(p, labels_dev, policy.alpha, conformal_method)])
    else:
        candidates = _candidates(p, score, conformal_method)
    masks = _confident_masks(p, score, conformal_method, candidates)
    coverage, risk, accuracy = _outcomes(masks, correct, reasoner)
    best = _select(policy, masks, correct, coverage, risk, accuracy)
    return Router(
        score=score,
        threshold=float(candidates[best]),
        policy=policy,
        conformal_method=conformal_method,
        dev=DevSummary(
            n_clips=len(correct),
            coverage=float(coverage[best]),
            risk=float(risk[best]),
            reasoner_accuracy=None if reasoner is None else float(reasoner.mean()),
            expected_accuracy=None if accuracy is None else float(accuracy[best]),
        ),
    )


def save_router(router: Router, run_dir: str | Path) -> Path:
    """Write ``routing.json`` into ``run_dir``."""
    path = Path(run_dir) / ROUTER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(router.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def load_router(run_dir: str | Path) -> Router:
    """Read ``routing.json`` from ``run_dir``.

    Raises:
        ConfigError: the file is missing or invalid.
    """
    path = Path(run_dir) / ROUTER_FILE
    if not path.is_file():
        raise ConfigError(f"{path} is missing; choose a routing threshold on the dev split first")
    try:
        return Router.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as error:
        raise ConfigError(f"{path} is not a valid routing file: {error}") from error


def _checked(probabilities: np.ndarray) -> np.ndarray:
    p = np.asarray(probabilities, dtype=float)
    if p.ndim != 2 or p.shape[1] != len(CLASSES) or not np.all(np.isfinite(p)):
        raise ModelError(
            f"probabilities must be a finite (n, {len(CLASSES)}) array in CLASSES order, got shape {p.shape}"
        )
    return p


def _reasoner_vector(reasoner_correct: np.ndarray | float | None, n: int, policy: RoutingPolicy) -> np.ndarray | None:
    if reasoner_correct is None:
        if isinstance(policy, BestAccuracy):
            raise ConfigError(
                "the best_accuracy policy needs reasoner_correct: per dev clip whether the reasoner was right, "
                "or its expected accuracy as one number"
            )
        return None
    values = np.asarray(reasoner_correct, dtype=float)
    if values.ndim > 0 and values.shape != (n,):
        raise ConfigError(f"reasoner_correct has shape {values.shape}; give one value per dev clip ({n}) or one number")
    vector = np.broadcast_to(values, (n,))
    if np.any((vector < 0) | (vector > 1)):
        raise ConfigError("reasoner_correct must hold booleans or accuracies between 0 and 1")
    return vector


def _candidates(p: np.ndarray, score: ScoreName, method: ConformalMethod) -> np.ndarray:
    if score == "conformal":
        values, delegate_all = np.unique(nonconformity(p, method)), -math.inf
    else:
        values, delegate_all = np.unique(confidence_scores(p, score)), math.inf
    if len(values) > MAX_CANDIDATES:
        values = np.unique(np.quantile(values, np.linspace(0, 1, MAX_CANDIDATES), method="nearest"))
    return np.append(values, delegate_all)


def _confident_masks(p: np.ndarray, score: ScoreName, method: ConformalMethod, thresholds: np.ndarray) -> np.ndarray:
    """Boolean (n_thresholds, n_clips)."""
    p = _checked(p)
    thresholds = np.asarray(thresholds, dtype=float)[:, None]
    if score == "conformal":
        set_sizes = (nonconformity(p, method)[None, :, :] <= thresholds[:, :, None]).sum(axis=2)
        return set_sizes == 1
    return confidence_scores(p, score)[None, :] >= thresholds


def _outcomes(
    masks: np.ndarray, correct: np.ndarray, reasoner: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    kept = masks.sum(axis=1)
    coverage = kept / masks.shape[1]
    risk = (masks & ~correct).sum(axis=1) / np.maximum(kept, 1)
    if reasoner is None:
        return coverage, risk, None
    accuracy = ((masks & correct).sum(axis=1) + (~masks * reasoner).sum(axis=1)) / masks.shape[1]
    return coverage, risk, accuracy


def _select(
    policy: RoutingPolicy,
    masks: np.ndarray,
    correct: np.ndarray,
    coverage: np.ndarray,
    risk: np.ndarray,
    accuracy: np.ndarray | None,
) -> int:
    """Index of the chosen candidate; ties go to the higher coverage (fewer delegations)."""
    if isinstance(policy, ConformalCoverage):
        return 0
    if isinstance(policy, BestAccuracy):
        assert accuracy is not None
        return int(np.lexsort((-coverage, -accuracy))[0])
    if isinstance(policy, DelegationBudget):
        feasible = 1.0 - coverage <= policy.max_delegation + 1e-12
        if accuracy is not None:
            return int(np.lexsort((-coverage, -accuracy, ~feasible))[0])
        return int(np.lexsort((risk, coverage, ~feasible))[0])
    from scipy.stats import beta  # a second of imports that only a risk target needs

    kept = masks.sum(axis=1)
    errors = (masks & ~correct).sum(axis=1)
    upper = np.where(kept > 0, beta.ppf(policy.confidence, errors + 1, np.maximum(kept - errors, 1)), 0.0)
    upper = np.where(errors >= kept, np.where(kept > 0, 1.0, 0.0), upper)
    feasible = upper <= policy.max_risk
    return int(np.lexsort((-coverage, ~feasible))[0])
