"""Adapt a trained run to the user's domain: a new language, channel or corpus.

The human-guided loop for audio that comes from elsewhere. From unlabelled
target audio of ordinary speech the adapted run learns the target domain's
statistics: clips of speakers with too few recordings are then read against
the target domain instead of the training corpus, taken as calm speech (the
model's ``reference``: their raw features are moved so that the target audio
lands on the calm training clips before the companion decides them). With a
few labelled target clips (e.g. exported from the review app) the final
acoustic model is refitted on the run's training and dev clips plus the
labelled ones, each counted ``weight`` times. The router, rulebook and configuration stay those of the source run
(chosen on its dev split); the test split of the source run is never read.

Measured (``python -m benchmarks.domain --adaptation``, ravdess3 → EmoDB,
labelled clips of other EmoDB speakers counted ×80, 5 draws): macro-F1
0.66 / 0.76 / 0.86 / 0.91 with 0 / 10 / 30 / 100 labelled clips; how ×80 was
chosen: ``--weights``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vietser.acoustic import AcousticModel
from vietser.acoustic.train import own_training_rows
from vietser.errors import ConfigError
from vietser.evidence import fit_class_profiles
from vietser.features.extract import SkippedClip, extract_features
from vietser.features.normalize import CorpusStats, reference_stats
from vietser.features.raw import raw_feature_columns
from vietser.integrity import TRAINED_FILES, update_checksums, verify_checksums
from vietser.run.dir import RunDir

# How many times a labelled target clip counts: a few hundred training clips outnumber a few dozen
# labelled ones, and at x5 they barely move the fit. Chosen on the reverse direction (EmoDB -> ravdess3,
# `python -m benchmarks.domain --weights`, 3 draws): the score rises up to x80 and levels off there
# (30 / 100 clips: x20 0.771 / 0.816, x40 0.792 / 0.844, x80 0.792 / 0.856, x160 0.797 / 0.858), so the
# smallest weight on the plateau. On the features of version 2 that table is flat from x20 on within its
# noise (x20 0.784 / 0.845, x80 0.776 / 0.838, x160 0.809 / 0.847), so x80 stayed.
DEFAULT_WEIGHT = 80


@dataclass
class AdaptationResult:
    """The adapted run directory, what it learned from, and the target clips that could not be used."""

    run_dir: Path
    labelled: int
    weight: int
    reference: int
    skipped: list[SkippedClip]


def adapt_run(
    source: Path,
    target: Path,
    *,
    audio: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
    weight: int = DEFAULT_WEIGHT,
    jobs: int = 1,
) -> AdaptationResult:
    """Write ``target``: a copy of the run ``source`` adapted to unlabelled ``audio`` and/or labelled ``labels``.

    Both are manifests (``clip_id``, ``path``, ``speaker``; ``labels`` also ``label``).

    Raises:
        ConfigError: neither is given, ``target`` exists, ``weight`` is below 1, the audio gives
            fewer than 2 usable clips, or audio alone is given to a model without calm statistics.
        TamperedRunError: a trusted file of ``source`` changed after vietser wrote it.
    """
    if audio is None and labels is None:
        raise ConfigError("adapt needs unlabelled target audio (--audio), labelled target clips (--labels), or both")
    if weight < 1:
        raise ConfigError(f"weight is {weight}; a labelled target clip counts at least once")
    if target.exists():
        raise ConfigError(f"{target} exists; choose a new folder for the adapted run")
    verify_checksums(source, TRAINED_FILES)
    run = RunDir(source)
    config = run.read_config()
    final = run.final_model
    model = final.read_model()
    skipped: list[SkippedClip] = []
    stats = CorpusStats.model_validate(model.corpus_stats) if model.corpus_stats else None
    n_reference = 0
    if audio is not None:
        extracted = extract_features(audio, sets=config.feature_sets, jobs=jobs)
        skipped += extracted.skipped
        stats = reference_stats(extracted.frame, raw_feature_columns(extracted.frame), "the target audio")
        n_reference = len(extracted.frame)
    n_labelled = 0
    if labels is not None:
        extracted = extract_features(
            labels, sets=config.feature_sets, jobs=jobs, min_clips_per_speaker=config.min_clips_per_speaker, fallback=stats
        )
        skipped += extracted.skipped
        labelled = extracted.frame
        n_labelled = len(labelled)
        features = run.read_features()
        pool = features[features["split"].isin(["train", "dev"])]
        pool = pd.concat([pool, *[labelled] * weight], ignore_index=True)
    if labels is None and model.calm_stats_ is None:
        raise ConfigError(
            f"the model of {source} keeps no statistics of its calm training clips, which target audio is read "
            "against (it was trained before they were kept, or without speaker normalisation); retrain it with "
            "`vietser run`, or give labelled target clips (--labels)"
        )
    shutil.copytree(source, target)
    adapted_final = RunDir(target / final.root.relative_to(source))
    if labels is not None:
        acoustic = config.acoustic.model_copy(update={"measure_calibration": False})
        model = AcousticModel(acoustic, corpus_stats=stats.model_dump() if stats else None).fit(pool)
        adapted_final.write_profiles(fit_class_profiles(own_training_rows(pool, acoustic)))
    else:
        model.set_params(corpus_stats=stats.model_dump() if stats else None)
    if audio is not None:
        model.set_params(reference=stats)
    adapted_final.write_model(model)
    update_checksums(target, [name for name in TRAINED_FILES if (target / name).is_file()])
    record = {"source": str(source.resolve()), "labelled_clips": n_labelled, "weight": weight, "reference_clips": n_reference}
    RunDir(target).write_adaptation(record)
    return AdaptationResult(target, n_labelled, weight, n_reference, skipped)
