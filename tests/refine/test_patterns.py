from __future__ import annotations

import numpy as np

from vietser.refine.patterns import find_patterns

FEATURES = ("prosody.f0_mean_st", "prosody.speech_rate", "prosody.hnr_db")


def test_a_pair_beats_its_single_conditions_when_only_both_together_separate() -> None:
    rng = np.random.default_rng(0)
    # Errors: pitch and rate both high. Reference: one or the other high, never both.
    target = np.column_stack([rng.uniform(1.5, 2.5, 40), rng.uniform(1.5, 2.5, 40), rng.normal(0, 1, 40)])
    high, low = rng.uniform(1.5, 2.5, 40), rng.uniform(-2.5, -1.5, 40)
    reference = np.vstack([
        np.column_stack([high[:20], low[:20], rng.normal(0, 1, 20)]),
        np.column_stack([low[20:], high[20:], rng.normal(0, 1, 20)]),
    ])
    [best] = find_patterns(target, reference, FEATURES, "correct", limit=1)
    assert {c.feature for c in best.conditions} == {"prosody.f0_mean_st", "prosody.speech_rate"}
    assert all(c.op == ">" for c in best.conditions)
    assert best.share_errors > 0.7 and best.share_reference < 0.2 and best.reference_n == 40


def test_missing_values_never_satisfy_a_condition() -> None:
    target = np.column_stack([np.full(10, np.nan), np.full(10, 2.0), np.zeros(10)])
    reference = np.column_stack([np.full(10, 2.0), np.full(10, -2.0), np.zeros(10)])
    patterns = find_patterns(target, reference, FEATURES, "correct")
    assert patterns and all(c.feature != "prosody.f0_mean_st" for p in patterns for c in p.conditions)


def test_no_patterns_without_a_reference_group() -> None:
    target = np.ones((10, 3))
    assert find_patterns(target, np.ones((2, 3)), FEATURES, "predicted_class") == []
