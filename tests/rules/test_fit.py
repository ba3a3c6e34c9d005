from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from vietser.acoustic import AcousticConfig
from vietser.decision import ClipEvidence
from vietser.errors import ConfigError
from vietser.labels import CLASSES
from vietser.rules.core import firing_matrix
from vietser.rules.engine import evaluate_rules
from vietser.rules.fit import (
    FitSettings,
    ambiguous_rows,
    fit_rulebook,
    fit_weights,
    oof_probabilities,
)
from vietser.rules.rulebook import default_rulebook, dump_rulebook, parse_rulebook


def _simulated(n: int, prior_weight: float, rule_weight: float, seed: int = 0):
    """Labels drawn from the engine's own model: one rule supporting panic."""
    rng = np.random.default_rng(seed)
    prior = rng.dirichlet(np.ones(3), size=n)
    log_prior = np.log(prior)
    fired = rng.random((n, 1)) < 0.4
    scores = prior_weight * log_prior
    scores[:, 2] += rule_weight * fired[:, 0]
    p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(3, p=row) for row in p])
    return log_prior, fired, labels


def test_fit_weights_recovers_the_generating_prior_weight_and_rule_weight():
    log_prior, fired, labels = _simulated(6000, prior_weight=0.7, rule_weight=1.5)
    prior_weight, weights = fit_weights(log_prior, fired, np.array([2]), labels, l2=0.0)
    assert prior_weight == pytest.approx(0.7, abs=0.1)
    assert weights[0] == pytest.approx(1.5, abs=0.2)


def test_fit_weights_gives_a_rule_that_fires_at_random_no_weight():
    log_prior, fired, labels = _simulated(4000, prior_weight=1.0, rule_weight=0.0, seed=1)
    _, weights = fit_weights(log_prior, fired, np.array([2]), labels, l2=0.0)
    assert weights[0] < 0.15


def test_fit_weights_keeps_a_fixed_prior_weight():
    log_prior, fired, labels = _simulated(500, prior_weight=0.5, rule_weight=1.0)
    prior_weight, _ = fit_weights(log_prior, fired, np.array([2]), labels, prior_weight=1.0)
    assert prior_weight == 1.0


def _z_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    features = sorted({c.feature for rule in default_rulebook().rules for c in rule.when})
    frame = pd.DataFrame({f"z.{f}": rng.normal(0, 1.2, n) for f in features})
    frame.iloc[0, 0] = np.nan
    return frame


def test_firing_matrix_matches_the_engine_rule_by_rule():
    rulebook, frame = default_rulebook(), _z_frame(60)
    matrix = firing_matrix(frame, rulebook.rules)
    for i, row in frame.iterrows():
        z = {c[2:]: float(v) for c, v in row.items() if np.isfinite(v)}
        fired = {f.rule_id for f in evaluate_rules(rulebook, ClipEvidence(clip_id=str(i), values={}, z=z))}
        assert {rule.id for j, rule in enumerate(rulebook.rules) if matrix[i, j]} == fired


def test_ambiguous_rows_are_the_least_confident_clips():
    p = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.6, 0.3, 0.1], [0.34, 0.33, 0.33]])
    assert sorted(ambiguous_rows(p, 0.5)) == [1, 3]


def _angry_panic_corpus(n_speakers: int = 8, per_class: int = 12, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Calm is easy for the 'acoustic model'; angry vs panic is a coin flip for it,
    but z.prosody.jitter_local separates them."""
    rng = np.random.default_rng(seed)
    rows, probabilities = [], []
    for s in range(n_speakers):
        for label in CLASSES:
            for _ in range(per_class):
                jitter = rng.normal(1.0 if label == "panic" else -1.0, 0.5)
                rows.append({"label": label, "speaker": f"s{s}", "z.prosody.jitter_local": jitter,
                             "z.egemaps.loudness_sma3_amean": rng.normal(0, 1)})
                probabilities.append([0.9, 0.05, 0.05] if label == "calm" else [0.1, 0.45, 0.45])
    return pd.DataFrame(rows), np.array(probabilities)


def test_fit_rulebook_induces_a_rule_where_the_acoustic_model_hesitates():
    frame, p = _angry_panic_corpus()
    fitted = fit_rulebook(frame, AcousticConfig(), default_rulebook(), FitSettings(fit_base=False), probabilities=p)
    active = [rule for rule in fitted.rulebook.rules if rule.enabled]
    assert {rule.supports for rule in active} >= {"angry", "panic"}
    assert all(c.feature == "prosody.jitter_local" for rule in active for c in rule.when)


def test_fit_rulebook_without_fitting_the_base_keeps_its_rules_disabled():
    frame, p = _angry_panic_corpus()
    fitted = fit_rulebook(frame, AcousticConfig(), default_rulebook(), FitSettings(fit_base=False), probabilities=p)
    base_ids = {rule.id for rule in default_rulebook().rules}
    kept = [rule for rule in fitted.rulebook.rules if rule.id in base_ids]
    assert len(kept) == len(base_ids) and not any(rule.enabled for rule in kept)


def test_fitted_rulebook_survives_a_save_and_load_round_trip():
    frame, p = _angry_panic_corpus()
    fitted = fit_rulebook(frame, AcousticConfig(), default_rulebook(), probabilities=p)
    assert parse_rulebook(yaml.safe_load(dump_rulebook(fitted.rulebook))) == fitted.rulebook


def test_fit_rulebook_rejects_probabilities_of_the_wrong_shape():
    frame, p = _angry_panic_corpus()
    with pytest.raises(ConfigError, match="shape"):
        fit_rulebook(frame, AcousticConfig(), default_rulebook(), probabilities=p[:-1])


def test_fit_settings_reject_an_empty_ambiguous_share():
    frame, p = _angry_panic_corpus()
    with pytest.raises(ConfigError, match="ambiguous_share"):
        fit_rulebook(frame, AcousticConfig(), default_rulebook(), FitSettings(ambiguous_share=0.0), probabilities=p)


def test_oof_probabilities_predict_held_out_speakers():
    rng = np.random.default_rng(0)
    rows = [
        {"label": label, "speaker": f"s{s}", "split": "train",
         "z.prosody.f0_mean_st": rng.normal(2.0 * k, 0.5), "z.egemaps.loudness_sma3_amean": rng.normal(-k, 0.5)}
        for s in range(4) for k, label in enumerate(CLASSES) for _ in range(6)
    ]
    frame = pd.DataFrame(rows)
    config = AcousticConfig(cv_folds=2, measure_calibration=False, late_fusion=())
    p = oof_probabilities(frame, config, n_folds=2)
    assert p.shape == (len(frame), 3) and np.allclose(p.sum(axis=1), 1.0)
    assert np.mean(np.array(CLASSES)[p.argmax(axis=1)] == frame["label"].to_numpy()) > 0.9
