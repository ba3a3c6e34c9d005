"""Benchmark the acoustic models with speaker-independent, nested cross-validation.

Usage::

    python -m benchmarks.acoustic [--features F.parquet ...] [--data ../shared/data/ravdess3] [--jobs 2]

For every model kind × views × normalisation (each feature set alone, and
eGeMAPS + prosody fused late with emobase and/or ComParE when the table has
them), clips are split into
``--outer-folds`` folds by speaker (GroupKFold: no speaker is in two folds).
In each outer fold :class:`vietser.acoustic.AcousticModel` sees only the
training speakers: it chooses hyperparameters with its own speaker-grouped
inner folds and calibrates there, exactly as in a real run; the held-out
speakers are then predicted. Pooled over the outer folds the table reports
macro-F1, accuracy, UA (unweighted average recall = balanced accuracy), the
top-label ECE of the calibrated probabilities, and the accuracy of the 75 %
most confident clips (max probability) — what the acoustic model alone
decides when a quarter of the clips is delegated.

The ``z.`` columns are z-scored within each speaker over all of that
speaker's clips, without labels — as at deployment, where a new speaker's own
recordings give the baseline.

Corpora: each ``--features`` parquet (a features table, any split column is
ignored), and ``--data`` (a folder with ``manifest.csv``: path,label,speaker
relative to it, e.g. the RAVDESS subset) when it exists; its features are
extracted with :func:`vietser.features.extract.extract_features` and cached
in the user cache, so reruns skip extraction. The "classic openSMILE
baseline" is eGeMAPS + linear SVM + corpus-level scaling. Prints a Markdown
table with the machine it ran on.
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from threadpoolctl import threadpool_limits

from benchmarks.common import RAVDESS, corpus_features, machine
from vietser.acoustic import (
    AcousticConfig,
    AcousticModel,
    FeatureView,
    ModelKind,
    Normalisation,
    expected_calibration_error,
    feature_columns,
)
from vietser.errors import ModelError
from vietser.labels import CLASSES
from vietser.routing import confidence_scores, selective_accuracy

BASELINE = (ModelKind.SVM_LINEAR, (FeatureView.EGEMAPS,), Normalisation.CORPUS)
FUSIONS = ((FeatureView.EMOBASE,), (FeatureView.COMPARE,), (FeatureView.EMOBASE, FeatureView.COMPARE))
COVERAGE = 0.75


@dataclass(frozen=True)
class Row:
    corpus: str
    kind: ModelKind
    views: tuple[FeatureView, ...]
    normalisation: Normalisation
    macro_f1: float
    accuracy: float
    ua: float
    ece: float
    accuracy_at_coverage: float
    cpu_seconds: float

    @property
    def is_baseline(self) -> bool:
        return (self.kind, self.views, self.normalisation) == BASELINE

    @property
    def views_name(self) -> str:
        return " + ".join(view.value for view in self.views)

    def markdown(self) -> str:
        name = f"**{self.kind.value}** (classic openSMILE baseline)" if self.is_baseline else self.kind.value
        return (
            f"| {self.corpus} | {name} | {self.views_name} | {self.normalisation.value} | "
            f"{self.macro_f1:.3f} | {self.accuracy:.3f} | {self.ua:.3f} | {self.ece:.3f} | "
            f"{self.accuracy_at_coverage:.3f} | {self.cpu_seconds:.1f} |"
        )


def nested_predictions(frame: pd.DataFrame, config: AcousticConfig, outer_folds: int) -> np.ndarray:
    """Probabilities for every clip from a model that never saw its speaker."""
    speakers = frame["speaker"].astype(str).to_numpy()
    folds = GroupKFold(n_splits=outer_folds)
    return cross_val_predict(AcousticModel(config), frame, groups=speakers, cv=folds, method="predict_proba")


def evaluate(corpus: str, frame: pd.DataFrame, config: AcousticConfig, outer_folds: int) -> Row:
    start = time.process_time()
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and fold-composition warnings of the inner searches
        probabilities = nested_predictions(frame, config, outer_folds)
    truth = frame["label"].astype(str).to_numpy()
    predicted = np.array(CLASSES)[probabilities.argmax(axis=1)]
    correct = predicted == truth
    return Row(
        corpus=corpus,
        kind=config.model,
        views=config.views,
        normalisation=config.normalisation,
        macro_f1=f1_score(truth, predicted, average="macro", labels=list(CLASSES)),
        accuracy=accuracy_score(truth, predicted),
        ua=balanced_accuracy_score(truth, predicted),
        ece=expected_calibration_error(probabilities, truth),
        accuracy_at_coverage=selective_accuracy(confidence_scores(probabilities, "max_prob"), correct, COVERAGE),
        cpu_seconds=time.process_time() - start,
    )


def configs(frame: pd.DataFrame, kinds: list[ModelKind], inner_folds: int, seed: int) -> list[AcousticConfig]:
    """Every model × views × normalisation whose columns the table has: each feature set
    alone, and eGeMAPS + prosody fused with the wide sets."""
    views = [(feature_set,) for feature_set in FeatureView]
    views += [(FeatureView.BOTH, *fusion) for fusion in FUSIONS]
    out = []
    for kind, (first, *fused), normalisation in itertools.product(kinds, views, Normalisation):
        try:
            for feature_set in (first, *fused):
                feature_columns(frame.columns, feature_set, normalisation)
        except ModelError:
            continue
        out.append(
            AcousticConfig(
                model=kind,
                feature_set=first,
                late_fusion=tuple(fused),
                normalisation=normalisation,
                cv_folds=inner_folds,
                seed=seed,
                measure_calibration=False,
            )
        )
    return out


def summary(rows: list[Row]) -> str:
    lines = []
    for corpus in dict.fromkeys(row.corpus for row in rows):
        mine = [row for row in rows if row.corpus == corpus]
        best = max(mine, key=lambda row: row.macro_f1)
        baseline = next((row for row in mine if row.is_baseline), None)
        line = f"- {corpus}: best {best.kind.value} / {best.views_name} / {best.normalisation.value}, "
        line += f"macro-F1 {best.macro_f1:.3f}"
        if baseline is not None:
            line += f"; baseline {baseline.macro_f1:.3f}; difference {best.macro_f1 - baseline.macro_f1:+.3f}"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=Path, action="append", default=[], help="features table (parquet)")
    parser.add_argument("--data", type=Path, default=RAVDESS, help="manifest folder; skipped when absent")
    parser.add_argument("--jobs", type=int, default=2, help="processes (configurations run in parallel)")
    parser.add_argument("--outer-folds", type=int, default=6)
    parser.add_argument("--inner-folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", type=ModelKind, nargs="+", default=list(ModelKind), help="model kinds to run")
    args = parser.parse_args()

    corpora = {path.stem: pd.read_parquet(path) for path in args.features}
    if args.data.is_dir():
        corpora[args.data.name] = corpus_features(args.data, args.jobs)
    if not corpora:
        parser.error(f"no corpus: pass --features, or provide {args.data}")

    start = time.perf_counter()
    tasks = [
        (name, frame, config)
        for name, frame in corpora.items()
        for config in configs(frame, args.models, args.inner_folds, args.seed)
    ]
    rows = Parallel(n_jobs=args.jobs)(
        delayed(evaluate)(name, frame, config, args.outer_folds) for name, frame, config in tasks
    )
    print(f"Acoustic models, {args.outer_folds}-fold leave-speakers-out, nested {args.inner_folds}-fold tuning")
    print(f"Machine: {machine()}; {args.jobs} processes; {time.perf_counter() - start:.0f} s wall in all\n")
    print(
        "| corpus | model | features | normalisation | macro-F1 | accuracy | UA | ECE | "
        f"acc. @ {COVERAGE:.0%} coverage | CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row.markdown())
    print()
    print(summary(rows))


if __name__ == "__main__":
    main()
