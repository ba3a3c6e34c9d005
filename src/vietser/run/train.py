"""Train a run: the acoustic model on the train split (and its train + dev refit), the rulebook, the layout.

The test split is read only by :mod:`vietser.run.evaluate`: the model is fitted on train, thresholds are
chosen on dev.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from vietser.acoustic.config import AcousticConfig
from vietser.acoustic.persist import save_model
from vietser.acoustic.records import CVResult
from vietser.acoustic.train import AcousticModel, own_training_rows
from vietser.config import RunConfig
from vietser.errors import ConfigError
from vietser.evidence import ClassProfiles, fit_class_profiles
from vietser.features.normalize import CorpusStats
from vietser.features.raw import raw_feature_columns
from vietser.integrity import record_training
from vietser.labels import SPLITS
from vietser.rules.fit import FitSettings, fit_rulebook, oof_probabilities
from vietser.rules.rulebook import default_rulebook, load_rulebook
from vietser.run.dir import FINAL_MODEL_DIR, RunDir


def check_splits(features: pd.DataFrame) -> None:
    """A run needs train, dev and test speakers.

    Raises:
        ConfigError: a split is empty.
    """
    present = set(features["split"].astype(str))
    missing = [split for split in SPLITS if split not in present]
    if missing:
        raise ConfigError(
            f"the features table has no {', '.join(missing)} rows; a run trains on train, chooses thresholds on dev "
            "and reports on test. Re-split the manifest by speaker (vietser.data.splits.assign_speaker_splits)."
        )


def train_run(features: pd.DataFrame, config: RunConfig, run_dir: Path) -> AcousticModel:
    """Fit the acoustic model on the train split (and, with ``refit_on_dev``, its train + dev refit
    for test and predict) and lay out the run directory.

    The hyperparameters are searched once, on the train split; the refit and the rule fit's fold
    models reuse them (a search of their own would cost the same again, each).
    """
    check_splits(features)
    run = RunDir(run_dir)
    train = features[features["split"] == "train"]
    model, _ = fit_acoustic_stage(train, config.acoustic, run)
    shutil.rmtree(run.path(FINAL_MODEL_DIR), ignore_errors=True)  # never a refit of an earlier training
    if config.refit_on_dev:
        refit_on_train_and_dev(features, config, run, tuned=model.cv_)
    run.write_features(features)
    run.write_manifest(features)
    rulebook = load_rulebook(config.rulebook) if config.rulebook else default_rulebook()
    if config.fit_rules:
        settings = FitSettings(n_folds=config.acoustic.cv_folds)
        clips = own_training_rows(train, config.acoustic)  # the rules are fitted on clips as heard, not copies
        probabilities = oof_probabilities(clips, config.acoustic, settings.n_folds, tuned=model.cv_)
        fitted = fit_rulebook(clips, config.acoustic, rulebook, settings, probabilities=probabilities)
        rulebook = fitted.rulebook
        config = config.model_copy(update={"rule_prior_weight": round(fitted.prior_weight, 3)})
        run.write_rule_fit(fitted.report)
    run.write_rulebook(rulebook)
    run.write_config(config)
    record_training(run_dir)
    return model


def refit_on_train_and_dev(
    features: pd.DataFrame, config: RunConfig, run: RunDir, tuned: CVResult | None = None
) -> tuple[AcousticModel, ClassProfiles]:
    """The acoustic model and class profiles refitted on train + dev speakers, saved in final-model/;
    with the hyperparameters of ``tuned`` (the train split's search) when given, else searched again."""
    pooled = features[features["split"].isin(["train", "dev"])]
    acoustic = config.acoustic.model_copy(update={"measure_calibration": False})
    return fit_acoustic_stage(pooled, acoustic, RunDir(run.path(FINAL_MODEL_DIR)), tuned)


def fit_acoustic_stage(
    train: pd.DataFrame, acoustic: AcousticConfig, out: RunDir, tuned: CVResult | None = None
) -> tuple[AcousticModel, ClassProfiles]:
    """Train on the rows given (keeping their corpus statistics as fallback; with the hyperparameters
    of ``tuned`` when given) and fit the class profiles; both are saved in ``out``. The statistics and
    profiles leave out the copies only the companion reads."""
    clips = own_training_rows(train, acoustic)
    stats = CorpusStats.from_frame(clips, raw_feature_columns(clips))
    model = AcousticModel(acoustic, corpus_stats=stats.model_dump(), tuned=tuned).fit(train)
    profiles = fit_class_profiles(clips)
    out.root.mkdir(parents=True, exist_ok=True)
    save_model(model, out.root)
    out.write_profiles(profiles)
    return model, profiles
