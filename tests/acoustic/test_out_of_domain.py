"""A trained model knows its training domain: out-of-domain clips are flagged, tempered and delegated;
deployment priors correct its posteriors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.acoustic.frames import AROUSAL_COLUMNS, arousal_corpus
from vietser.acoustic import AcousticConfig, AcousticModel, load_model, save_model
from vietser.acoustic.priors import parse_priors
from vietser.decision import ClipEvidence, Route
from vietser.pipeline import with_priors
from vietser.features.catalog import Z_PREFIX
from vietser.labels import CLASSES
from vietser.pipeline import OOD_COLUMN, acoustic_decisions, out_of_domain
from vietser.routing import DelegationBudget, choose_threshold

CONFIG = AcousticConfig(feature_set="both", late_fusion=(), measure_calibration=False, cv_folds=3)


@pytest.fixture(scope="module")
def trained() -> AcousticModel:
    return AcousticModel(CONFIG).fit(arousal_corpus(n_speakers=10, seed=3))


def far_away(frame: pd.DataFrame, shift: float) -> pd.DataFrame:
    z = [Z_PREFIX + c for c in AROUSAL_COLUMNS]
    return frame.assign(**{c: frame[c] + shift for c in z})


def test_held_out_speakers_are_mostly_in_domain_and_far_clips_are_not(trained) -> None:  # noqa: ANN001
    held_out = arousal_corpus(n_speakers=4, seed=4)
    assert np.mean(trained.ood_scores(held_out) > 1.0) < 0.1
    assert np.all(trained.ood_scores(far_away(held_out, 12.0)) > 3.0)


def test_a_far_clip_is_never_reported_with_high_confidence(trained) -> None:  # noqa: ANN001
    held_out = arousal_corpus(n_speakers=4, seed=4)
    far = far_away(held_out, 12.0)
    prior = np.asarray(trained.domain_.class_prior)
    assert trained.predict_proba(held_out).max() > 0.9
    np.testing.assert_allclose(trained.predict_proba(far), np.tile(prior, (len(far), 1)), atol=1e-9)


def test_the_training_domain_is_saved_as_plain_json_and_scores_the_same(trained, tmp_path) -> None:  # noqa: ANN001
    save_model(trained, tmp_path)
    card = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert set(card["domain"]) == {"columns", "detector", "class_prior"}
    loaded = load_model(tmp_path)
    frame = far_away(arousal_corpus(n_speakers=2, seed=5), 2.0)
    np.testing.assert_array_equal(loaded.ood_scores(frame), trained.ood_scores(frame))


def test_out_of_domain_clips_are_flagged_and_delegated(trained) -> None:  # noqa: ANN001
    frame = pd.concat([arousal_corpus(n_speakers=1, seed=6), far_away(arousal_corpus(n_speakers=1, seed=7), 12.0)])
    frame = frame.reset_index(drop=True)
    frame[OOD_COLUMN] = trained.ood_scores(frame)
    probabilities = trained.predict_proba(frame)
    outside = out_of_domain(frame)
    assert outside[len(frame) // 2 :].all() and outside[: len(frame) // 2].mean() < 0.2
    router = choose_threshold(probabilities, frame["label"], DelegationBudget(max_delegation=0.0))
    assert not any(route == Route.DELEGATED for route in router.route(probabilities))
    routes = router.route(probabilities, outside)
    assert [route == Route.DELEGATED for route in routes] == outside.tolist()
    evidence = [ClipEvidence(clip_id=c, values={}, z={}) for c in frame["clip_id"]]
    decisions = acoustic_decisions(frame, probabilities, evidence, probabilities.max(axis=1), routes)
    assert [d.out_of_domain for d in decisions] == outside.tolist()
    assert all(d.ood_score is not None and d.ood_score > 1 for d in decisions if d.out_of_domain)


def halfway_to_calm(frame: pd.DataFrame) -> pd.DataFrame:
    """Each speaker's angry clips with their z halfway to the speaker's calm clips: doubtful by making."""
    z = [Z_PREFIX + c for c in AROUSAL_COLUMNS]
    angry = frame[frame["label"] == "angry"].copy()
    calm_mean = frame[frame["label"] == "calm"].groupby("speaker")[z].mean()
    angry[z] = (angry[z].to_numpy() + calm_mean.loc[angry["speaker"]].to_numpy()) / 2
    return angry


def test_a_mostly_calm_deployment_prior_turns_doubtful_clips_calm(trained) -> None:  # noqa: ANN001
    held_out = arousal_corpus(n_speakers=4, seed=8)
    frame = pd.concat([held_out, halfway_to_calm(held_out)], ignore_index=True)
    before = trained.predict_proba(frame)
    after = with_priors(trained, frame, before, parse_priors("calm=0.9,angry=0.07,panic=0.03"))
    calm = CLASSES.index("calm")
    assert (after.argmax(axis=1) == calm).sum() > (before.argmax(axis=1) == calm).sum()
    assert np.all(after[:, calm] >= before[:, calm] - 1e-12)
    np.testing.assert_allclose(with_priors(trained, frame, before, None), before)
    estimated = with_priors(trained, frame, before, "auto")
    np.testing.assert_allclose(estimated.sum(axis=1), 1.0)

