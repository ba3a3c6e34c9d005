"""Score a trained run on another corpus: train here, test there.

Every clip of a labelled manifest is decided as ``vietser predict`` would
decide it — the run's final model, router and reasoner — with the manifest's
speakers as baselines (speakers with too few clips are read against the
training corpus). Nothing of the run is changed or refitted. The summary has
the scores of the acoustic decision and of the pipeline side by side, the
pipeline's paired-bootstrap gain, the share of clips out of the training
domain, and per-corpus macro-F1 when the manifest has a ``corpus`` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vietser.decision import Decision, Route
from vietser.data.manifest import corpus_of_clips
from vietser.evaluate.sections import corpus_scores
from vietser.features.extract import SkippedClip
from vietser.labels import CLASSES
from vietser.run.dir import RunDir
from vietser.run.predict import Predictor
from vietser.run.systems import ACOUSTIC_ONLY, PIPELINE, system_summary


@dataclass
class TransferResult:
    """The pipeline's decisions on the other corpus, the clips skipped, and the scores."""

    decisions: list[Decision]
    skipped: list[SkippedClip]
    summary: dict


def evaluate_on(predictor: Predictor, manifest: pd.DataFrame, name: str, jobs: int = 1) -> TransferResult:
    """Decide and score every clip of ``manifest`` (columns ``clip_id``, ``path``, ``label``, ``speaker``)."""
    result = predictor.predict_manifest(manifest, jobs)
    labelled = [d for d in result.decisions if d.true_label in CLASSES]
    acoustic = [d.model_copy(update={"label": d.acoustic_label, "route": Route.CONFIDENT}) for d in labelled]
    config = predictor.config
    summary: dict = {
        "corpus": name,
        "reasoner": predictor.reasoner.name,
        "clips": len(result.decisions),
        "skipped": len(result.skipped),
        "out_of_domain_share": sum(d.out_of_domain for d in labelled) / max(len(labelled), 1),
        "test": system_summary({ACOUSTIC_ONLY: acoustic, PIPELINE: labelled}, config.n_bootstrap, config.seed),
    }
    if corpus_of := corpus_of_clips(manifest):
        summary["per_corpus"] = corpus_scores(labelled, corpus_of)
    return TransferResult(result.decisions, result.skipped, summary)


def transfer_dir(run_dir: Path, manifest_path: Path) -> Path:
    """Where ``vietser evaluate RUN --on MANIFEST`` writes: ``RUN/transfer/<manifest name>/``."""
    return RunDir(run_dir).transfer(manifest_path.stem)
