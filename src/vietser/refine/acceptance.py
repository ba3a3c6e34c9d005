"""The acceptance test: an edit is kept only if it improves dev macro-F1 by more than the noise.

Two tests, on the dev predictions before and after the edit:

* ``paired_bootstrap`` (default): resample dev clips (or whole speakers) with a
  fixed seed; accept when the lower end of the two-sided ``1 - alpha`` percentile
  interval of the macro-F1 difference is above zero;
* ``mcnemar``: accept when macro-F1 rises and McNemar's test on the clips where
  exactly one of the two is right gives ``p < alpha``, with more clips fixed than broken.

The winning edit of a round is the best of many candidates, so its dev gain is
partly luck. With ``correction="bonferroni"`` (default) ``alpha`` is divided by the
number of candidates that raised dev macro-F1 in the round (the family the edit
was picked from). On generated dev sets where no edit can help (random labels,
features and probabilities; 20 sets of 400 clips, 5 rounds each), the uncorrected
bootstrap kept 28 edits in all and the corrected one 2 (McNemar: 6 and 1).

An edit that changes no prediction, or does not raise macro-F1, is rejected
before any test is run.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vietser.errors import ConfigError
from vietser.evaluate.bootstrap import mcnemar, paired_bootstrap
from vietser.labels import CLASSES
from vietser.refine.devset import DevSet

AcceptanceMethod = Literal["paired_bootstrap", "mcnemar"]


class AcceptanceConfig(BaseModel):
    """How an edit must beat the current rulebook on the dev set."""

    model_config = ConfigDict(extra="forbid")

    method: AcceptanceMethod = "paired_bootstrap"
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    correction: Literal["bonferroni", "none"] = Field(
        default="bonferroni", description="divide alpha by the number of improving candidates"
    )
    n_bootstrap: int = Field(default=2000, ge=100)
    seed: int = 0
    resample: Literal["clips", "speakers"] = Field(
        default="clips", description="bootstrap unit; 'speakers' needs speakers on the dev set"
    )


class Verdict(BaseModel):
    """The outcome of the acceptance test for one edit."""

    model_config = ConfigDict(extra="forbid")

    accepted: bool
    delta: float
    reason: str
    lo: float | None = None
    hi: float | None = None
    p_value: float | None = None
    changed: int = 0


def _labels(indices: np.ndarray) -> list[str]:
    return [CLASSES[i] for i in indices]


def judge(
    dev: DevSet,
    before: np.ndarray,
    after: np.ndarray,
    delta: float,
    config: AcceptanceConfig,
    family: int = 1,
) -> Verdict:
    """Whether predictions ``after`` beat ``before`` (class indices) by more than the noise.

    Args:
        delta: macro-F1(after) - macro-F1(before), already computed by the caller.
        family: how many candidates the edit was picked from (for the correction).
    """
    changed = int((before != after).sum())
    if changed == 0:
        return Verdict(accepted=False, delta=0.0, changed=0, reason="changes no dev prediction")
    if delta <= 0:
        return Verdict(
            accepted=False, delta=delta, changed=changed,
            reason=f"dev macro-F1 does not improve (Δ {delta:+.4f})",
        )
    truth, pred_a, pred_b = _labels(dev.truth), _labels(before), _labels(after)
    alpha = config.alpha / max(family, 1) if config.correction == "bonferroni" else config.alpha
    if config.method == "mcnemar":
        test = mcnemar(truth, pred_a, pred_b)
        passed = test.p_value < alpha and test.only_b_correct > test.only_a_correct
        reason = f"McNemar p = {test.p_value:.4f} ({test.only_b_correct} fixed, {test.only_a_correct} broken)"
        if not passed:
            reason += f"; needs p < {alpha:.2g} with more clips fixed than broken"
        return Verdict(
            accepted=passed, delta=delta, changed=changed, p_value=test.p_value, reason=reason
        )
    groups = None
    if config.resample == "speakers":
        if dev.speakers is None:
            raise ConfigError(
                "resample='speakers' needs the dev set's speakers; build it from a frame with a "
                "'speaker' column or use resample='clips'"
            )
        groups = list(dev.speakers)
    level = 1.0 - alpha
    boot = paired_bootstrap(
        truth, pred_a, pred_b, "macro_f1", n=config.n_bootstrap, seed=config.seed,
        groups=groups, level=level,
    )
    passed = boot.lo > 0
    reason = (
        f"Δ macro-F1 {delta:+.4f}, {level:.2%} bootstrap interval [{boot.lo:+.4f}, {boot.hi:+.4f}]"
        + ("" if passed else " includes 0: within the noise")
    )
    return Verdict(
        accepted=passed, delta=delta, changed=changed, lo=boot.lo, hi=boot.hi,
        p_value=boot.p_value, reason=reason,
    )
