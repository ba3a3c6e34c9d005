"""Clips without a speaker baseline are decided by the companion fitted on raw columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import f1_score

from tests.acoustic.frames import AROUSAL_COLUMNS, arousal_corpus
from vietser.acoustic import AcousticConfig, AcousticModel, load_model, save_model
from vietser.acoustic.baseline_free import HomogeneityGate, without_baseline
from vietser.acoustic.inference import DeployedModel, read_as_one
from vietser.acoustic.persist import load_deployed_model
from vietser.acoustic.priors import parse_priors
from vietser.config import RunConfig
from vietser.data.channel import copy_name
from vietser.errors import ModelError, UntrustedModelError
from vietser.evidence import fit_class_profiles
from vietser.features.catalog import SPREAD_PREFIX
from vietser.features.normalize import CorpusStats, normalize_by_speaker, reference_stats
from vietser.labels import CLASSES
from vietser.pipeline import OOD_LIMIT, split_view, with_priors
from vietser.run.dir import BASELINE_FREE_MODEL_DIR, SIDECAR_FILE

CONFIG = AcousticConfig(feature_set="both", late_fusion=(), measure_calibration=False, cv_folds=3)
# As pitch level between men and women, and level and spectrum between microphones: these cues differ
# far more between speakers than with emotion; HNR and jitter hardly differ between speakers (the
# companion reads pitch, HNR and jitter, see VOICE_GROUPS). Within a speaker all say as much.
OFFSET_STD = np.array([8.0, 8.0, 0.2, 12.0, 12.0, 0.2])


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return arousal_corpus(n_speakers=10, seed=3, offset_std=OFFSET_STD)


@pytest.fixture(scope="module")
def trained(training: pd.DataFrame) -> AcousticModel:
    return AcousticModel(CONFIG).fit(training)


@pytest.fixture(scope="module")
def new_speakers() -> pd.DataFrame:
    return arousal_corpus(n_speakers=8, seed=11, offset_std=OFFSET_STD)


def as_single_clips(frame: pd.DataFrame, training: pd.DataFrame) -> pd.DataFrame:
    """Every clip on its own (no speaker), read against the training corpus as predict reads one file."""
    raw = frame.drop(columns=[c for c in frame.columns if c.startswith(("z.", SPREAD_PREFIX))]).assign(speaker="")
    fallback = CorpusStats.from_frame(training, AROUSAL_COLUMNS)
    return pd.concat([raw, normalize_by_speaker(raw, AROUSAL_COLUMNS, fallback=fallback)], axis=1)


def speaker_model_only(model: AcousticModel, frame: pd.DataFrame) -> np.ndarray:
    alone = AcousticModel(CONFIG)
    alone.__dict__.update(model.__dict__, baseline_free_=None)
    return alone.predict_proba(frame)


def macro_f1(frame: pd.DataFrame, probabilities: np.ndarray) -> float:
    return f1_score(frame["label"], np.array(CLASSES)[probabilities.argmax(axis=1)], average="macro")


def test_rows_without_a_baseline_are_those_with_no_spread(trained, training, new_speakers) -> None:  # noqa: ANN001
    single = as_single_clips(new_speakers, training)
    assert without_baseline(single, trained.feature_columns_).all()
    assert not without_baseline(new_speakers, trained.feature_columns_).any()


def test_single_clips_of_new_speakers_are_read_better_by_the_companion(trained, training, new_speakers) -> None:  # noqa: ANN001
    single = as_single_clips(new_speakers, training)
    with_companion = macro_f1(single, trained.predict_proba(single))
    speaker_only = macro_f1(single, speaker_model_only(trained, single))
    assert with_companion > speaker_only + 0.03


def test_clips_with_a_baseline_keep_the_speaker_model(trained, new_speakers) -> None:  # noqa: ANN001
    np.testing.assert_array_equal(trained.predict_proba(new_speakers), speaker_model_only(trained, new_speakers))


def test_the_companion_is_saved_and_loaded(trained, training, new_speakers, tmp_path) -> None:  # noqa: ANN001
    save_model(trained, tmp_path)
    loaded = load_model(tmp_path)
    single = as_single_clips(new_speakers, training)
    np.testing.assert_allclose(loaded.predict_proba(single), trained.predict_proba(single))
    assert loaded.baseline_free_.feature_columns_ == trained.baseline_free_.feature_columns_


def test_a_changed_companion_is_refused(trained, tmp_path) -> None:  # noqa: ANN001
    save_model(trained, tmp_path)
    sidecar = tmp_path / BASELINE_FREE_MODEL_DIR / SIDECAR_FILE
    sidecar.write_text(sidecar.read_text(encoding="utf-8").replace('"seed": 0', '"seed": 1'), encoding="utf-8")
    with pytest.raises(UntrustedModelError, match="changed after saving"):
        load_model(tmp_path)


def test_single_clips_are_measured_against_the_training_speakers_as_they_differ(trained, training, new_speakers) -> None:  # noqa: ANN001
    single = as_single_clips(new_speakers, training)
    np.testing.assert_array_equal(trained.ood_scores(single), trained.baseline_free_.ood_scores(single))
    assert np.mean(trained.ood_scores(single) > 1) < 0.1


def test_a_model_without_spread_columns_has_no_companion(training) -> None:  # noqa: ANN001
    plain = training.drop(columns=[c for c in training.columns if c.startswith(SPREAD_PREFIX)])
    assert AcousticModel(CONFIG).fit(plain).baseline_free_ is None


def test_a_single_clip_far_from_every_training_speaker_is_out_of_domain_and_doubtful(trained, training, new_speakers) -> None:  # noqa: ANN001
    far = as_single_clips(new_speakers.assign(**{c: new_speakers[c] + 40.0 for c in AROUSAL_COLUMNS}), training)
    assert (trained.ood_scores(far) > 2 * OOD_LIMIT).all()
    assert trained.predict_proba(far).max() < 0.9


def test_a_frame_mixing_both_kinds_of_row_gives_each_row_its_own_reading(trained, training, new_speakers) -> None:  # noqa: ANN001
    single = as_single_clips(new_speakers, training)
    mixed = pd.concat([new_speakers.iloc[:40], single.iloc[40:80]], ignore_index=True)
    expected = np.vstack([trained.predict_proba(new_speakers.iloc[:40]), trained.predict_proba(single.iloc[40:80])])
    np.testing.assert_allclose(trained.predict_proba(mixed), expected)
    scores = np.concatenate([trained.ood_scores(new_speakers.iloc[:40]), trained.ood_scores(single.iloc[40:80])])
    np.testing.assert_allclose(trained.ood_scores(mixed), scores)


def shifted_domain(frame: pd.DataFrame, training: pd.DataFrame, by_std: float) -> pd.DataFrame:
    """``frame`` with every raw cue raised by ``by_std`` training standard deviations, as a language or
    channel the model never heard moves all of its values at once."""
    std = training[AROUSAL_COLUMNS].std()
    return frame.assign(**{column: frame[column] + by_std * std[column] for column in AROUSAL_COLUMNS})


def test_a_domain_read_against_its_own_ordinary_speech_is_called_calm_without_losing_its_arousal(
    trained, training  # noqa: ANN001
) -> None:
    domain = shifted_domain(arousal_corpus(n_speakers=8, seed=21, offset_std=OFFSET_STD), training, by_std=1.5)
    calm = domain[domain["label"] == "calm"]
    reference, ordinary = calm.iloc[::2], calm.iloc[1::2]  # never a clip against itself
    aroused = domain[domain["label"] != "calm"]

    def called_calm(rows: pd.DataFrame, read: pd.DataFrame | None) -> float:
        model = clone(trained)
        model.__dict__.update({k: v for k, v in trained.__dict__.items() if k.endswith("_")})
        model.set_params(reference=None if read is None else reference_stats(read, AROUSAL_COLUMNS))
        probabilities = model.predict_proba(as_single_clips(rows, training))
        return float(np.mean(probabilities.argmax(axis=1) == CLASSES.index("calm")))

    assert trained.calm_stats_ is not None
    assert called_calm(ordinary, None) < 0.3
    assert called_calm(ordinary, reference) > 0.8
    assert called_calm(aroused, reference) < 0.3


def test_the_calm_statistics_and_a_domain_reference_are_saved_and_loaded(trained, training, tmp_path) -> None:  # noqa: ANN001
    model = clone(trained)
    model.__dict__.update({k: v for k, v in trained.__dict__.items() if k.endswith("_")})
    model.set_params(reference=reference_stats(training.iloc[:20], AROUSAL_COLUMNS))
    save_model(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.calm_stats_ == trained.calm_stats_ and loaded.reference == model.reference
    assert loaded.homogeneity_ == trained.homogeneity_ is not None
    single = as_single_clips(training.iloc[20:40], training)
    np.testing.assert_allclose(loaded.predict_proba(single), model.predict_proba(single))


def test_the_deployed_model_and_its_companion_decide_as_trained(trained, training, new_speakers, tmp_path) -> None:  # noqa: ANN001
    save_model(trained, tmp_path)
    deployed = load_deployed_model(tmp_path)
    mixed = pd.concat([new_speakers.iloc[::2], as_single_clips(new_speakers.iloc[1::2], training)], ignore_index=True)
    assert isinstance(deployed.baseline_free_, DeployedModel)
    np.testing.assert_array_equal(deployed.predict_proba(mixed), trained.predict_proba(mixed))
    np.testing.assert_array_equal(deployed.ood_scores(mixed), trained.ood_scores(mixed))
    reference = reference_stats(training.iloc[:20], AROUSAL_COLUMNS)
    deployed.reference, anchored = reference, clone(trained)
    anchored.__dict__.update({k: v for k, v in trained.__dict__.items() if k.endswith("_")}, reference=reference)
    np.testing.assert_array_equal(deployed.predict_proba(mixed), anchored.predict_proba(mixed))


@pytest.fixture(scope="module")
def calm_only(new_speakers: pd.DataFrame) -> pd.DataFrame:
    """The new speakers' calm clips alone, each speaker's baseline taken over those clips."""
    calm = new_speakers[new_speakers["label"] == "calm"].drop(
        columns=[c for c in new_speakers.columns if c.startswith(("z.", SPREAD_PREFIX))]
    )
    return pd.concat([calm, normalize_by_speaker(calm, AROUSAL_COLUMNS)], axis=1)


def test_a_speaker_calm_in_every_clip_is_read_by_the_companion_and_a_varied_one_is_not(
    trained, new_speakers, calm_only  # noqa: ANN001
) -> None:
    gate = trained.homogeneity_

    assert gate is not None
    assert not gate.homogeneous(new_speakers).any()
    assert gate.homogeneous(calm_only).mean() > 0.8
    called_calm = np.mean(trained.predict(calm_only) == "calm")
    assert called_calm > np.mean(np.array(CLASSES)[speaker_model_only(trained, calm_only).argmax(axis=1)] == "calm") + 0.2
    assert called_calm > 0.8


def test_the_clips_of_a_homogeneous_speaker_are_read_together(trained, new_speakers, calm_only) -> None:  # noqa: ANN001
    """Each clip of a calm-only speaker read on its own is doubtful; their speaker's mix, estimated
    from all of them, makes each surer, and a speaker with a baseline that varies keeps the clip reading."""
    homogeneous = trained.homogeneity_.homogeneous(calm_only)
    together, alone = trained.predict_proba(calm_only), trained.predict_clip_proba(calm_only)

    assert homogeneous.mean() > 0.8
    assert together[homogeneous, 0].mean() > alone[homogeneous, 0].mean() + 0.05
    assert np.mean(together[homogeneous].argmax(axis=1) == 0) >= np.mean(alone[homogeneous].argmax(axis=1) == 0)
    np.testing.assert_array_equal(together[~homogeneous], alone[~homogeneous])
    np.testing.assert_array_equal(trained.predict_proba(new_speakers), trained.predict_clip_proba(new_speakers))
    one_speaker = calm_only[calm_only["speaker"] == calm_only.loc[homogeneous, "speaker"].iloc[0]]
    rows = np.flatnonzero((calm_only["speaker"] == one_speaker["speaker"].iloc[0]).to_numpy())
    np.testing.assert_allclose(trained.predict_proba(one_speaker), together[rows])  # other speakers play no part


def test_the_evidence_of_a_speaker_read_as_one_says_so(trained, training, new_speakers, calm_only) -> None:  # noqa: ANN001
    frame = pd.concat([calm_only, new_speakers], ignore_index=True)
    view = split_view(trained, fit_class_profiles(training), frame, RunConfig())
    as_one = read_as_one(trained, frame)

    texts = [" ".join(cue.text_en for cue in evidence.cues) for evidence in view.evidence]
    assert as_one.any() and all(cues for cues in texts)
    assert all(("read together" in text) == together for text, together in zip(texts, as_one))


def test_a_deployment_prior_leaves_a_speaker_read_as_one_to_their_own_mix(trained, new_speakers, calm_only) -> None:  # noqa: ANN001
    frame = pd.concat([calm_only, new_speakers], ignore_index=True)
    as_one = read_as_one(trained, frame)
    before = trained.predict_proba(frame)
    after = with_priors(trained, frame, before, parse_priors("calm=0.1,angry=0.45,panic=0.45"))

    assert as_one[: len(calm_only)].mean() > 0.8 and not as_one[len(calm_only) :].any()
    np.testing.assert_array_equal(after[as_one], before[as_one])
    assert (after[~as_one, 0] < before[~as_one, 0]).all()


def test_the_gate_reads_each_spread_column_once_when_views_repeat_them(training) -> None:  # noqa: ANN001
    spread = [c for c in training.columns if c.startswith(SPREAD_PREFIX)]
    once = HomogeneityGate.fit(training, spread)
    twice = HomogeneityGate.fit(training, [*spread, *spread])  # a late fusion lists them in every view

    assert once is not None and twice == once
    assert len(twice.columns) == len(set(twice.columns))


# Not loudness, which the companion does not read: a recording level moves what the voicing and
# harmonicity tracking measure too.
LEVEL_COLUMN = "egemaps.HNRdBACF_sma3nz_amean"


def at_random_levels(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``frame``'s clips with their HNR moved by a random amount each, as a recording level moves it."""
    gains = np.random.default_rng(seed).uniform(-4.0, 2.0, len(frame))
    return frame.assign(**{LEVEL_COLUMN: frame[LEVEL_COLUMN] + gains})


def level_copies(training: pd.DataFrame) -> pd.DataFrame:
    """The training clips at random levels, each speaker's copies a pseudo-speaker as the run names them."""
    raw = at_random_levels(training[["clip_id", "speaker", "label", *AROUSAL_COLUMNS]], seed=5)
    raw = raw.assign(
        clip_id=[copy_name(c, "level") for c in raw["clip_id"]], speaker=[copy_name(s, "level") for s in raw["speaker"]]
    )
    return pd.concat([raw, normalize_by_speaker(raw, AROUSAL_COLUMNS)], axis=1).assign(split="train")


def test_level_copies_train_the_companion_only_and_make_it_read_any_level(trained, training, new_speakers) -> None:  # noqa: ANN001
    with_copies = AcousticModel(CONFIG).fit(pd.concat([training, level_copies(training)], ignore_index=True))
    single = as_single_clips(at_random_levels(new_speakers, seed=8), training)

    assert with_copies.train_data_sha256_ == trained.train_data_sha256_
    np.testing.assert_array_equal(with_copies.predict_proba(new_speakers), trained.predict_proba(new_speakers))
    assert macro_f1(single, with_copies.predict_proba(single)) > macro_f1(single, trained.predict_proba(single)) + 0.05


def test_a_training_set_of_companion_copies_alone_is_refused(training) -> None:  # noqa: ANN001
    with pytest.raises(ModelError, match="only the companion"):
        AcousticModel(CONFIG).fit(level_copies(training))
