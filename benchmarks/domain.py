"""Speech from elsewhere: how the acoustic stage holds up off its training corpus.

Usage::

    python -m benchmarks.domain [--jobs 2] [--folds 6]

One table; each system trained and measured in the same run: today's
defaults, last round's defaults (speaker z over all clips, no spread columns,
no calm-share copies, no telephone augmentation, no out-of-domain tempering)
and the eGeMAPS + linear-SVM baseline.

- within-corpus: ravdess3, leave-speakers-out folds (test = the fold's actors);
- telephone: the same folds, the test actors' clips through a telephone
  channel (8 kHz, 300–3400 Hz, G.711 µ-law; :mod:`vietser.data.channel`);
  with augmentation, training also sees the training actors' telephone
  copies, each its own pseudo-speaker;
- cross-corpus: all of ravdess3 → EmoDB (calm/angry/panic) and back, and
  with the EmoDB priors estimated by EM from its unlabelled posteriors;
- calm-only speakers: the test speakers given only their calm clips
  (ravdess3 folds; EmoDB speakers with a ravdess3 model): share called calm;
- vi-speech: 22 real Vietnamese clips of ordinary speech (no emotion labels),
  each its own speaker (corpus fallback, as ``vietser predict`` does by
  default), with a call-centre prior, and read against the other 21 clips as
  ``--reference`` (never the clip itself): clips called calm and the highest
  angry/panic probability;
- out of domain: share of clips whose out-of-domain score is above 1.

Speakers are normalised over their own clips without labels; those with
fewer than 5 clips against the training corpus' statistics. The data lives in
../shared/data (never in the repository); telephone copies and features are
cached in the bench folder and the user cache.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from joblib import Parallel, delayed

from benchmarks.common import BENCH_DIR, RAVDESS, machine
from vietser.acoustic import AcousticConfig, train_acoustic
from vietser.acoustic.domain import TargetPriors, parse_priors
from vietser.data.audio import load_audio
from vietser.data.channel import telephone
from vietser.data.corpora import emodb_manifest
from vietser.evaluate import compute_metrics
from vietser.features.catalog import SPREAD_PREFIX, Z_PREFIX
from vietser.features.extract import extract_features
from vietser.experiment import with_priors
from vietser.features.normalize import CorpusStats, normalize_against_reference, normalize_by_speaker
from vietser.features.raw import is_feature_column
from vietser.labels import CLASSES
from vietser.pipeline import OOD_LIMIT

DATA = RAVDESS.parent
EMODB = DATA / "emodb"
VI_SPEECH = DATA / "vi-speech"
SETS = ("egemaps", "prosody", "emobase")


@dataclass(frozen=True)
class System:
    """One way of training: acoustic settings, and the domain measures it uses."""

    config: AcousticConfig
    spread: bool  # the model reads the speaker-spread columns
    augment: bool  # training clips also through the telephone channel
    detector: bool  # out-of-domain tempering and routing


SYSTEMS: dict[str, System] = {
    "defaults": System(AcousticConfig(measure_calibration=False), spread=True, augment=True, detector=True),
    "defaults + calm-share copies": System(
        AcousticConfig(measure_calibration=False, calm_shares=(1.0, 0.8, 0.6, 0.25)),
        spread=True,
        augment=True,
        detector=True,
    ),
    "before (last round's defaults)": System(
        AcousticConfig(measure_calibration=False, calm_shares=()), spread=False, augment=False, detector=False
    ),
    "baseline (eGeMAPS + linear SVM)": System(
        AcousticConfig(
            model="svm-linear", feature_set="egemaps", late_fusion=(), measure_calibration=False, calm_shares=()
        ),
        spread=False,
        augment=False,
        detector=False,
    ),
}
CALL_CENTRE = parse_priors("calm=0.9,angry=0.07,panic=0.03")


def manifest_of(folder: Path) -> pd.DataFrame:
    manifest = pd.read_csv(folder / "manifest.csv")
    return manifest.assign(
        path=[str((folder / p).resolve()) for p in manifest["path"]],
        clip_id=[str((folder / p).resolve()) for p in manifest["path"]],
        speaker=manifest["speaker"].astype(str),
        label=manifest["label"] if "label" in manifest.columns else "calm",
    )


def telephone_copies(manifest: pd.DataFrame, out_dir: Path) -> pd.DataFrame:
    """Each clip through the telephone channel, written once as 8 kHz WAV under ``out_dir``."""
    paths = []
    for index, path in enumerate(manifest["path"]):
        target = out_dir / f"{index:05d}-{Path(path).stem}.wav"
        if not target.is_file():
            audio = load_audio(path)
            channel = telephone(audio.samples, audio.sample_rate, codec="mulaw")
            out_dir.mkdir(parents=True, exist_ok=True)
            sf.write(target, channel.samples, channel.sample_rate, subtype="PCM_16")
        paths.append(str(target))
    return manifest.assign(path=paths, clip_id=paths)


def raw_features(manifest: pd.DataFrame, jobs: int) -> pd.DataFrame:
    frame = extract_features(manifest, sets=SETS, jobs=jobs).frame
    return frame[[c for c in frame.columns if not str(c).startswith(Z_PREFIX)]].reset_index(drop=True)


def with_z(frame: pd.DataFrame, spread: bool, fallback: CorpusStats | None = None) -> pd.DataFrame:
    columns = [c for c in frame.columns if is_feature_column(c)]
    normalised = normalize_by_speaker(frame, columns, min_clips=5, fallback=fallback)
    if not spread:
        normalised = normalised[[c for c in normalised.columns if not c.startswith(SPREAD_PREFIX)]]
    return pd.concat([frame, normalised], axis=1)


class Fitted:
    """One system trained on some rows, with the corpus statistics that read new single clips."""

    def __init__(self, train: pd.DataFrame, system: System) -> None:
        self.spread = system.spread
        columns = [c for c in train.columns if is_feature_column(c)]
        self.stats = CorpusStats.from_frame(train, columns)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model = train_acoustic(with_z(train, self.spread).assign(split="train"), system.config)
        if not system.detector:
            self.model.domain_ = None

    def proba(self, frame: pd.DataFrame, priors: TargetPriors = None) -> np.ndarray:
        return with_priors(self.model, self.model.predict_proba(with_z(frame, self.spread, self.stats)), priors)

    def ood_share(self, frame: pd.DataFrame) -> float:
        return float(np.mean(self.model.ood_scores(with_z(frame, self.spread, self.stats)) > OOD_LIMIT))

    def against_reference(self, frame: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
        columns = [c for c in frame.columns if is_feature_column(c)]
        normalised = normalize_against_reference(frame, reference, columns)
        if not self.spread:
            normalised = normalised[[c for c in normalised.columns if not c.startswith(SPREAD_PREFIX)]]
        return self.model.predict_proba(pd.concat([frame, normalised], axis=1))


def training_rows(rows: pd.DataFrame, phone: pd.DataFrame, system: System) -> pd.DataFrame:
    """``rows``, and with augmentation their telephone copies, each its own pseudo-speaker."""
    if not system.augment:
        return rows
    return pd.concat([rows, phone.assign(speaker=lambda f: f["speaker"] + "@telephone")], ignore_index=True)


def folds(frame: pd.DataFrame, n: int, seed: int = 0) -> list[np.ndarray]:
    speakers = np.array(sorted(frame["speaker"].unique()))
    np.random.default_rng(seed).shuffle(speakers)
    return np.array_split(speakers, n)


def macro_f1(labels: np.ndarray, probabilities: np.ndarray) -> float:
    return compute_metrics(labels, np.array(CLASSES)[probabilities.argmax(axis=1)]).macro_f1


def calm_share(probabilities: np.ndarray) -> float:
    return float((probabilities.argmax(axis=1) == CLASSES.index("calm")).mean())


def fold(system: System, ravdess: pd.DataFrame, phone: pd.DataFrame, test: np.ndarray) -> dict[str, np.ndarray]:
    """One leave-speakers-out fold: the held-out actors' studio, telephone and calm-only clips."""
    is_test = ravdess["speaker"].isin(test).to_numpy()
    held = ravdess[is_test]
    fitted = Fitted(training_rows(ravdess[~is_test], phone[~is_test], system), system)
    return {
        "labels": held["label"].to_numpy(),
        "within": fitted.proba(held),
        "phone": fitted.proba(phone[is_test]),
        "calm": fitted.proba(held[held["label"] == "calm"]),
        "calm_prior": fitted.proba(held[held["label"] == "calm"], CALL_CENTRE),
        "ood": np.array([fitted.ood_share(held)]),
    }


def vi_row(probabilities: np.ndarray) -> str:
    calm = int((probabilities.argmax(axis=1) == CLASSES.index("calm")).sum())
    return f"{calm} of {len(probabilities)}; max {probabilities[:, 1:].max():.2f}"


def measure(system: System, data: dict[str, pd.DataFrame], n_folds: int, jobs: int) -> dict[str, str]:
    ravdess, phone, emodb, vi = data["ravdess"], data["phone"], data["emodb"], data["vi"]
    results = Parallel(n_jobs=jobs)(delayed(fold)(system, ravdess, phone, test) for test in folds(ravdess, n_folds))
    pooled = {key: [result[key] for result in results] for key in results[0]}
    labels = np.concatenate(pooled["labels"])
    on_ravdess, on_emodb = Parallel(n_jobs=jobs)(
        delayed(Fitted)(training_rows(rows, copies, system), system)
        for rows, copies in ((ravdess, phone), (emodb, data["emodb-phone"]))
    )
    single = vi.assign(speaker="")
    by_reference = np.vstack(
        [on_ravdess.against_reference(vi.iloc[[i]], vi.drop(index=i)) for i in range(len(vi))]
    )
    emodb_labels = emodb["label"].to_numpy()
    return {
        "within ravdess3 (macro-F1)": f"{macro_f1(labels, np.vstack(pooled['within'])):.3f}",
        "telephone, held-out actors (macro-F1)": f"{macro_f1(labels, np.vstack(pooled['phone'])):.3f}",
        "ravdess3 → EmoDB": f"{macro_f1(emodb_labels, on_ravdess.proba(emodb)):.3f}",
        "ravdess3 → EmoDB, priors by EM (`--priors auto`)": f"{macro_f1(emodb_labels, on_ravdess.proba(emodb, 'auto')):.3f}",
        "EmoDB → ravdess3": f"{macro_f1(ravdess['label'].to_numpy(), on_emodb.proba(ravdess)):.3f}",
        "calm-only speakers, ravdess3 (called calm)": f"{calm_share(np.vstack(pooled['calm'])):.0%}",
        "calm-only speakers, EmoDB (called calm)": f"{calm_share(on_ravdess.proba(emodb[emodb['label'] == 'calm'])):.0%}",
        "calm-only speakers, ravdess3, `--priors calm=0.9,…`": f"{calm_share(np.vstack(pooled['calm_prior'])):.0%}",
        "vi-speech, plain predict (called calm; max P(angry/panic))": vi_row(on_ravdess.proba(single)),
        "vi-speech, `--priors calm=0.9,angry=0.07,panic=0.03`": vi_row(on_ravdess.proba(single, CALL_CENTRE)),
        "vi-speech, the other 21 clips as `--reference`": vi_row(by_reference),
        "out of domain: held-out ravdess3 actors / vi-speech": f"{np.mean(pooled['ood']):.0%} / "
        f"{on_ravdess.ood_share(single):.0%}",
    }


def load_data(jobs: int) -> dict[str, pd.DataFrame]:
    ravdess = manifest_of(RAVDESS)
    emodb = emodb_manifest(EMODB).frame
    emodb = emodb.assign(clip_id=emodb["path"], speaker=emodb["speaker"].astype(str))
    return {
        "ravdess": raw_features(ravdess, jobs),
        "phone": raw_features(telephone_copies(ravdess, BENCH_DIR / "ravdess3-telephone"), jobs),
        "emodb": raw_features(emodb, jobs),
        "emodb-phone": raw_features(telephone_copies(emodb, BENCH_DIR / "emodb-telephone"), jobs),
        "vi": raw_features(manifest_of(VI_SPEECH), jobs),
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--folds", type=int, default=6)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    data = load_data(args.jobs)
    results = {name: measure(system, data, args.folds, args.jobs) for name, system in SYSTEMS.items()}
    names = list(SYSTEMS)
    print(f"\n## Speech from elsewhere ({machine()})\n")
    print("| test audio | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for row in results[names[0]]:
        print(f"| {row} | " + " | ".join(results[name][row] for name in names) + " |")
    print(f"\n{args.folds} leave-speakers-out folds; {time.perf_counter() - start:.0f} s in all.")
    return results


if __name__ == "__main__":
    main()
