"""Bootstrap intervals, paired bootstrap between systems and McNemar's test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from vietser.evaluate.bootstrap import bootstrap_ci, mcnemar, paired_bootstrap
from vietser.evaluate.metrics import score
from vietser.labels import CLASSES


def labelled(n: int, accuracy: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.choice(CLASSES, size=n)
    wrong = np.array([CLASSES[(CLASSES.index(t) + 1) % 3] for t in truth])
    return truth, np.where(rng.random(n) < accuracy, truth, wrong)


@pytest.mark.parametrize("metric", ["accuracy", "unweighted_accuracy", "macro_f1"])
def test_interval_contains_the_point_estimate(metric: str) -> None:
    truth, pred = labelled(300, 0.75, seed=0)
    interval = bootstrap_ci(truth, pred, metric, n=500, seed=1)  # type: ignore[arg-type]
    assert interval.estimate == pytest.approx(score(truth, pred, metric))  # type: ignore[arg-type]
    assert interval.lo < interval.estimate < interval.hi


def test_interval_narrows_with_more_clips() -> None:
    small = bootstrap_ci(*labelled(100, 0.75, seed=0), "macro_f1", n=500, seed=1)
    large = bootstrap_ci(*labelled(2000, 0.75, seed=0), "macro_f1", n=500, seed=1)
    assert large.hi - large.lo < 0.5 * (small.hi - small.lo)


def test_same_seed_gives_the_same_interval() -> None:
    truth, pred = labelled(120, 0.7, seed=4)
    assert bootstrap_ci(truth, pred, n=200, seed=9) == bootstrap_ci(truth, pred, n=200, seed=9)


def test_speaker_resampling_widens_the_interval_when_speakers_differ() -> None:
    rng = np.random.default_rng(5)
    speakers = np.repeat([f"s{i}" for i in range(10)], 40)
    speaker_accuracy = np.repeat(np.linspace(0.3, 1.0, 10), 40)
    truth = rng.choice(CLASSES, size=speakers.size)
    wrong = np.array([CLASSES[(CLASSES.index(t) + 1) % 3] for t in truth])
    pred = np.where(rng.random(speakers.size) < speaker_accuracy, truth, wrong)
    by_clip = bootstrap_ci(truth, pred, "accuracy", n=500, seed=0)
    by_speaker = bootstrap_ci(truth, pred, "accuracy", n=500, seed=0, groups=list(speakers))
    assert by_speaker.hi - by_speaker.lo > 1.5 * (by_clip.hi - by_clip.lo)


def test_paired_bootstrap_finds_a_clearly_better_system() -> None:
    truth, worse = labelled(400, 0.6, seed=0)
    better = np.where(np.random.default_rng(1).random(truth.size) < 0.5, truth, worse)
    result = paired_bootstrap(truth, worse, better, "macro_f1", n=500, seed=2)
    assert result.delta == pytest.approx(score(truth, better, "macro_f1") - score(truth, worse, "macro_f1"))
    assert 0.0 < result.lo < result.delta < result.hi
    assert result.p_value < 0.01


def test_paired_bootstrap_of_identical_systems_is_zero_with_p_one() -> None:
    truth, pred = labelled(100, 0.7, seed=3)
    delta, lo, hi, p_value = paired_bootstrap(truth, pred, pred, n=200)
    assert (delta, lo, hi, p_value) == (0.0, 0.0, 0.0, 1.0)


def test_mcnemar_counts_discordant_clips_and_uses_exact_test_when_few() -> None:
    truth = ["calm"] * 20
    pred_a = ["calm"] * 12 + ["angry"] * 8
    pred_b = ["calm"] * 10 + ["angry"] * 2 + ["calm"] * 8
    result = mcnemar(truth, pred_a, pred_b)
    assert (result.only_a_correct, result.only_b_correct) == (2, 8)
    assert result.p_value == pytest.approx(binomtest(2, 10, 0.5).pvalue)


def test_groups_must_name_every_clip() -> None:
    truth, pred = labelled(10, 0.7, seed=0)
    with pytest.raises(ValueError, match="one group per clip"):
        bootstrap_ci(truth, pred, groups=["s1"] * 9)
