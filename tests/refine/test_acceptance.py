from __future__ import annotations

import numpy as np
import pytest

from vietser.errors import ConfigError
from vietser.evaluate.metrics import score as metric
from vietser.labels import CLASSES
from vietser.refine.acceptance import AcceptanceConfig, judge
from vietser.refine.devset import DevSet


def _delta(dev: DevSet, before: np.ndarray, after: np.ndarray) -> float:
    truth = list(dev.labels)
    return metric(truth, [CLASSES[i] for i in after], "macro_f1") - metric(truth, [CLASSES[i] for i in before], "macro_f1")


def _fix(dev: DevSet, before: np.ndarray, count: int) -> np.ndarray:
    """``before`` with its first ``count`` errors corrected."""
    after = before.copy()
    wrong = np.flatnonzero(before != dev.truth)[:count]
    after[wrong] = dev.truth[wrong]
    return after


def test_fixing_many_errors_passes_the_bootstrap(dev: DevSet) -> None:
    before = dev.acoustic
    after = _fix(dev, before, 30)
    verdict = judge(dev, before, after, _delta(dev, before, after), AcceptanceConfig())
    assert verdict.accepted and verdict.lo is not None and verdict.lo > 0
    assert verdict.changed == 30


def test_fixing_one_error_is_within_the_noise(dev: DevSet) -> None:
    before = dev.acoustic
    after = _fix(dev, before, 1)
    verdict = judge(dev, before, after, _delta(dev, before, after), AcceptanceConfig())
    assert not verdict.accepted and "within the noise" in verdict.reason


def test_a_change_that_lowers_the_score_is_rejected_without_a_test(dev: DevSet) -> None:
    after = dev.acoustic
    before = _fix(dev, after, 30)
    verdict = judge(dev, before, after, _delta(dev, before, after), AcceptanceConfig())
    assert not verdict.accepted and verdict.lo is None and "does not improve" in verdict.reason


def test_no_change_is_rejected(dev: DevSet) -> None:
    verdict = judge(dev, dev.acoustic, dev.acoustic.copy(), 0.0, AcceptanceConfig())
    assert not verdict.accepted and verdict.reason == "changes no dev prediction"


def test_mcnemar_accepts_many_fixes_and_rejects_few(dev: DevSet) -> None:
    config = AcceptanceConfig(method="mcnemar")
    before = dev.acoustic
    many, few = _fix(dev, before, 30), _fix(dev, before, 2)
    assert judge(dev, before, many, _delta(dev, before, many), config).accepted
    rejected = judge(dev, before, few, _delta(dev, before, few), config)
    assert not rejected.accepted and rejected.p_value is not None and rejected.p_value >= 0.05


def test_speaker_resampling_needs_speakers(dev: DevSet) -> None:
    no_speakers = DevSet(dev.clip_ids, dev.evidence, dev.probabilities, dev.routes, dev.labels)
    after = _fix(dev, dev.acoustic, 30)
    with pytest.raises(ConfigError, match="speakers"):
        judge(no_speakers, dev.acoustic, after, 0.1, AcceptanceConfig(resample="speakers"))
    assert judge(dev, dev.acoustic, after, _delta(dev, dev.acoustic, after),
                 AcceptanceConfig(resample="speakers")).accepted


def test_picking_from_many_candidates_needs_a_larger_gain(dev: DevSet) -> None:
    before = dev.acoustic
    after = _fix(dev, before, 5)
    delta = _delta(dev, before, after)
    assert judge(dev, before, after, delta, AcceptanceConfig(), family=1).accepted
    assert not judge(dev, before, after, delta, AcceptanceConfig(), family=50).accepted
    assert judge(dev, before, after, delta, AcceptanceConfig(correction="none"), family=50).accepted
