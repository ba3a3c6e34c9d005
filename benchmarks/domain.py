"""Speech from elsewhere: how the acoustic stage holds up off its training corpus.

Usage::

    python -m benchmarks.domain [--jobs 2] [--folds 6] [--adaptation] [--weights] [--pooled]

One table; each system trained and measured in the same run: today's
defaults, last round's defaults (speaker z over all clips, no spread columns,
no calm-share copies, no telephone augmentation, no out-of-domain tempering)
and the eGeMAPS + linear-SVM baseline.

- within-corpus: ravdess3, leave-speakers-out folds (test = the fold's actors);
- telephone: the same folds, the test actors' clips through a telephone
  channel (8 kHz, 300–3400 Hz, G.711 µ-law; :mod:`vietser.data.channel`);
  with augmentation, training also sees the training actors' telephone
  copies, each its own pseudo-speaker, and today's defaults train their
  companion also on copies at a random level (−20…+6 dB);
- cross-corpus: all of ravdess3 → EmoDB (calm/angry/panic) and back, and
  with the EmoDB priors estimated by EM from its unlabelled posteriors;
- single clips: every held-out clip decided on its own, with no speaker
  baseline (``vietser predict ONE.wav``): the default model's companion for
  such clips (:mod:`vietser.acoustic.baseline_free`) decides them; and the
  same clips at a random level each (−20…+6 dB), as microphones and lines
  deliver them;
- calm-only speakers: the test speakers given only their calm clips
  (ravdess3 folds; EmoDB speakers with a ravdess3 model): share called calm;
  and given only their angry, or only their panic, clips: share called that
  class, and share called calm;
- vi-speech: 22 real Vietnamese clips of ordinary speech (no emotion labels),
  each its own speaker (corpus fallback, as ``vietser predict`` does by
  default), with a call-centre prior, and read against the other 21 clips as
  ``--reference`` (never the clip itself; read as calm speech, see
  :func:`vietser.features.normalize.anchored_to_calm`): clips called calm and
  the highest angry/panic probability; also the range of clips called calm
  by the fold models (each trained without one fold of actors), since one
  model's count moves by several clips with the training speakers;
- EmoDB speakers, each read against the calm clips of the other nine as
  ``--reference`` (a domain reference, never the speaker's own clips);
- out of domain: share of clips whose out-of-domain score is above 1.

With ``--pooled``, a second table: ravdess3 and EmoDB pooled in one training
set (a ``corpus`` column; speakers without a baseline read against their own
corpus), leave-speakers-out folds over the speakers of both, beside a model of
each corpus alone trained on the same folds' speakers of that corpus; and the
pooled model on vi-speech.

Speakers are normalised over their own clips without labels; those with
fewer than 5 clips against the training corpus' statistics. The data lives in
../shared/data (never in the repository); channel copies and features are
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

from benchmarks.common import BENCH_DIR, RAVDESS, folds, machine
from vietser.acoustic import AcousticConfig, AcousticModel
from vietser.acoustic.domain import TargetPriors, parse_priors
from vietser.data.audio import load_audio
from vietser.data.channel import CHANNELS, ChannelName, apply_channel, copy_name, telephone
from vietser.data.corpora import emodb_manifest
from vietser.evaluate import compute_metrics
from vietser.features.catalog import SPREAD_PREFIX, Z_PREFIX
from vietser.features.extract import extract_features
from vietser.pipeline import with_priors
from vietser.features.normalize import CorpusStats, normalize_by_speaker, reference_stats
from vietser.features.raw import raw_feature_columns
from vietser.labels import CLASSES
from vietser.pipeline import OOD_LIMIT
from vietser.run.adapt import DEFAULT_WEIGHT

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
    levels: bool = False  # the companion also trains on the clips at random levels (companion_channels)


@dataclass(frozen=True)
class Copies:
    """A corpus' clips through the telephone channel and at a random level, row for row with it."""

    phone: pd.DataFrame
    level: pd.DataFrame

    def __getitem__(self, rows: np.ndarray) -> Copies:
        return Copies(self.phone[rows], self.level[rows])

    @classmethod
    def of(cls, data: dict[str, pd.DataFrame], corpus: str) -> Copies:
        prefix = "" if corpus == "ravdess" else f"{corpus}-"
        return cls(data[f"{prefix}phone"], data[f"{prefix}level"])


SYSTEMS: dict[str, System] = {
    "defaults": System(
        AcousticConfig(measure_calibration=False), spread=True, augment=True, detector=True, levels=True
    ),
    "defaults + calm-share copies": System(
        AcousticConfig(measure_calibration=False, calm_shares=(1.0, 0.8, 0.6, 0.25)),
        spread=True,
        augment=True,
        detector=True,
        levels=True,
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


def copies_through(manifest: pd.DataFrame, channel: ChannelName, out_dir: Path) -> pd.DataFrame:
    """Each clip through ``channel`` (telephone: always G.711 µ-law), written once as WAV under ``out_dir``."""
    paths = []
    for index, path in enumerate(manifest["path"]):
        target = out_dir / f"{index:05d}-{Path(path).stem}.wav"
        if not target.is_file():
            audio = load_audio(path)
            if channel == "telephone":
                copy = telephone(audio.samples, audio.sample_rate, codec="mulaw")
            else:
                rng = np.random.default_rng([0, index, CHANNELS.index(channel)])
                copy = apply_channel(audio.samples, audio.sample_rate, channel, rng)
            out_dir.mkdir(parents=True, exist_ok=True)
            sf.write(target, copy.samples, copy.sample_rate, subtype="PCM_16")
        paths.append(str(target))
    return manifest.assign(path=paths, clip_id=paths)


def raw_features(manifest: pd.DataFrame, jobs: int) -> pd.DataFrame:
    """The manifest's raw features only: every benchmark row normalises them itself."""
    frame = extract_features(manifest, sets=SETS, jobs=jobs).frame
    normalised = [c for c in frame.columns if str(c).startswith((Z_PREFIX, SPREAD_PREFIX))]
    return frame.drop(columns=normalised).reset_index(drop=True)


def with_z(frame: pd.DataFrame, spread: bool, fallback: CorpusStats | None = None) -> pd.DataFrame:
    columns = raw_feature_columns(frame)
    normalised = normalize_by_speaker(frame, columns, min_clips=5, fallback=fallback)
    if not spread:
        normalised = normalised[[c for c in normalised.columns if not c.startswith(SPREAD_PREFIX)]]
    return pd.concat([frame, normalised], axis=1)


class Fitted:
    """One system trained on some rows, with the corpus statistics that read new single clips.

    ``extra`` are labelled rows already normalised (their speakers read over all of their own
    clips), added to the training rows as they are.
    """

    def __init__(self, train: pd.DataFrame, system: System, extra: pd.DataFrame | None = None) -> None:
        self.spread = system.spread
        columns = raw_feature_columns(train)
        self.stats = CorpusStats.from_frame(train, columns)
        rows = pd.concat([with_z(train, self.spread), extra], ignore_index=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model = AcousticModel(system.config).fit(rows)
        if not system.detector:
            self.model.domain_ = None

    def proba(self, frame: pd.DataFrame, priors: TargetPriors = None) -> np.ndarray:
        normalised = with_z(frame, self.spread, self.stats)
        return with_priors(self.model, normalised, self.model.predict_proba(normalised), priors)

    def ood_share(self, frame: pd.DataFrame) -> float:
        return float(np.mean(self.model.ood_scores(with_z(frame, self.spread, self.stats)) > OOD_LIMIT))

    def against_reference(self, frame: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray | None:
        """As `vietser predict --reference`: no baseline of its own, raw features anchored on the calm
        training clips by the reference, read by the companion; None for a system without one."""
        if self.model.calm_stats_ is None:
            return None
        self.model.set_params(reference=reference_stats(reference, raw_feature_columns(reference)))
        try:
            return self.model.predict_proba(with_z(frame.assign(speaker=""), self.spread, self.stats))
        finally:
            self.model.set_params(reference=None)


def training_rows(rows: pd.DataFrame, copies: Copies, system: System) -> pd.DataFrame:
    """``rows``, with augmentation their telephone copies and with ``levels`` their level copies (which
    only the companion reads), each speaker's copies a pseudo-speaker named as a run names them."""
    chosen = [("telephone", copies.phone)] if system.augment else []
    chosen += [("level", copies.level)] if system.levels else []
    named = [frame.assign(speaker=[copy_name(s, channel) for s in frame["speaker"]]) for channel, frame in chosen]
    return pd.concat([rows, *named], ignore_index=True) if named else rows


def macro_f1(labels: np.ndarray, probabilities: np.ndarray) -> float:
    return compute_metrics(labels, np.array(CLASSES)[probabilities.argmax(axis=1)]).macro_f1


def calm_share(probabilities: np.ndarray) -> float:
    return float((probabilities.argmax(axis=1) == CLASSES.index("calm")).mean())


def one_class_row(by_class: dict[str, np.ndarray]) -> str:
    """Speakers given only their angry, or only their panic, clips: share called that class, and share
    called calm (the miss an emergency line cannot afford)."""
    own = [float((by_class[name].argmax(axis=1) == CLASSES.index(name)).mean()) for name in ("angry", "panic")]
    missed = [calm_share(by_class[name]) for name in ("angry", "panic")]
    return f"{own[0]:.0%} / {own[1]:.0%}; calm {missed[0]:.0%} / {missed[1]:.0%}"


def fold(
    system: System, ravdess: pd.DataFrame, copies: Copies, vi: pd.DataFrame, test: np.ndarray
) -> dict[str, np.ndarray]:
    """One leave-speakers-out fold: the held-out actors' studio, telephone and calm-only clips, and the
    vi-speech clips as plain predict reads them (how much the fold's training speakers sway them)."""
    is_test = ravdess["speaker"].isin(test).to_numpy()
    held = ravdess[is_test]
    fitted = Fitted(training_rows(ravdess[~is_test], copies[~is_test], system), system)
    return {
        "labels": held["label"].to_numpy(),
        "within": fitted.proba(held),
        "phone": fitted.proba(copies.phone[is_test]),
        "calm": fitted.proba(held[held["label"] == "calm"]),
        "angry_only": fitted.proba(held[held["label"] == "angry"]),
        "panic_only": fitted.proba(held[held["label"] == "panic"]),
        "single": fitted.proba(held.assign(speaker="")),
        "single_phone": fitted.proba(copies.phone[is_test].assign(speaker="")),
        "single_level": fitted.proba(copies.level[is_test].assign(speaker="")),
        "calm_prior": fitted.proba(held[held["label"] == "calm"], CALL_CENTRE),
        "ood": np.array([fitted.ood_share(held)]),
        "vi": fitted.proba(vi.assign(speaker="")),
    }


def emodb_against_calm_of_others(fitted: Fitted, emodb: pd.DataFrame) -> np.ndarray | None:
    """Each EmoDB speaker's clips read against the calm clips of the other nine (never their own)."""
    probabilities = np.zeros((len(emodb), len(CLASSES)))
    calm = (emodb["label"] == "calm").to_numpy()
    for speaker in emodb["speaker"].unique():
        own = (emodb["speaker"] == speaker).to_numpy()
        read = fitted.against_reference(emodb[own], emodb[~own & calm])
        if read is None:
            return None
        probabilities[own] = read
    return probabilities


def calm_count(probabilities: np.ndarray) -> int:
    return int((probabilities.argmax(axis=1) == CLASSES.index("calm")).sum())


def vi_row(probabilities: np.ndarray) -> str:
    return f"{calm_count(probabilities)} of {len(probabilities)}; max {probabilities[:, 1:].max():.2f}"


def measure(system: System, data: dict[str, pd.DataFrame], n_folds: int, jobs: int) -> dict[str, str]:
    ravdess, emodb, vi = data["ravdess"], data["emodb"], data["vi"]
    copies = Copies.of(data, "ravdess")
    results = Parallel(n_jobs=jobs)(delayed(fold)(system, ravdess, copies, vi, test) for test in folds(ravdess, n_folds))
    pooled = {key: [result[key] for result in results] for key in results[0]}
    labels = np.concatenate(pooled["labels"])
    on_ravdess, on_emodb = Parallel(n_jobs=jobs)(
        delayed(Fitted)(training_rows(rows, corpus_copies, system), system)
        for rows, corpus_copies in ((ravdess, copies), (emodb, Copies.of(data, "emodb")))
    )
    single = vi.assign(speaker="")
    read = [on_ravdess.against_reference(vi.iloc[[i]], vi.drop(index=i)) for i in range(len(vi))]
    by_reference = "— (no companion)" if read[0] is None else vi_row(np.vstack(read))
    emodb_by_reference = emodb_against_calm_of_others(on_ravdess, emodb)
    emodb_labels = emodb["label"].to_numpy()
    fold_calm = [calm_count(probabilities) for probabilities in pooled["vi"]]
    return {
        "within ravdess3 (macro-F1)": f"{macro_f1(labels, np.vstack(pooled['within'])):.3f}",
        "telephone, held-out actors (macro-F1)": f"{macro_f1(labels, np.vstack(pooled['phone'])):.3f}",
        "every held-out clip on its own (no baseline): ravdess3 / telephone": (
            f"{macro_f1(labels, np.vstack(pooled['single'])):.3f} / "
            f"{macro_f1(labels, np.vstack(pooled['single_phone'])):.3f}"
        ),
        "every held-out clip on its own, at a random level (−20…+6 dB)": (
            f"{macro_f1(labels, np.vstack(pooled['single_level'])):.3f}"
        ),
        "ravdess3 → EmoDB": f"{macro_f1(emodb_labels, on_ravdess.proba(emodb)):.3f}",
        "ravdess3 → EmoDB, every clip on its own": f"{macro_f1(emodb_labels, on_ravdess.proba(emodb.assign(speaker=''))):.3f}",
        "ravdess3 → EmoDB, priors by EM (`--priors auto`)": f"{macro_f1(emodb_labels, on_ravdess.proba(emodb, 'auto')):.3f}",
        "EmoDB → ravdess3": f"{macro_f1(ravdess['label'].to_numpy(), on_emodb.proba(ravdess)):.3f}",
        "calm-only speakers, ravdess3 (called calm)": f"{calm_share(np.vstack(pooled['calm'])):.0%}",
        "calm-only speakers, EmoDB (called calm)": f"{calm_share(on_ravdess.proba(emodb[emodb['label'] == 'calm'])):.0%}",
        "calm-only speakers, ravdess3, `--priors calm=0.9,…`": f"{calm_share(np.vstack(pooled['calm_prior'])):.0%}",
        "angry-only / panic-only speakers, ravdess3 (called their class; called calm)": one_class_row(
            {name: np.vstack(pooled[f"{name}_only"]) for name in ("angry", "panic")}
        ),
        "angry-only / panic-only speakers, EmoDB (called their class; called calm)": one_class_row(
            {name: on_ravdess.proba(emodb[emodb["label"] == name]) for name in ("angry", "panic")}
        ),
        "vi-speech, plain predict (called calm; max P(angry/panic))": vi_row(on_ravdess.proba(single)),
        "vi-speech, plain predict by each fold's model (called calm, min–max)": (
            f"{min(fold_calm)}–{max(fold_calm)} of {len(vi)}"
        ),
        "vi-speech, `--priors calm=0.9,angry=0.07,panic=0.03`": vi_row(on_ravdess.proba(single, CALL_CENTRE)),
        "vi-speech, the other 21 clips as `--reference`": by_reference,
        "ravdess3 → EmoDB, each speaker against the other speakers' calm clips as `--reference`": (
            "—" if emodb_by_reference is None else f"{macro_f1(emodb_labels, emodb_by_reference):.3f}"
        ),
        "out of domain: held-out ravdess3 actors / vi-speech": f"{np.mean(pooled['ood']):.0%} / "
        f"{on_ravdess.ood_share(single):.0%}",
    }


ADAPTATION_COUNTS = (0, 10, 30, 100)
ADAPTATION_DRAWS = 5
ISSUE_WEIGHT = 5  # the weight of the issue's line to beat (eGeMAPS baseline, labelled clips ×5)


def adaptation_point(
    system: System, data: dict[str, pd.DataFrame], count: int, draw: int, weight: int, source: str = "ravdess"
) -> float:
    """Macro-F1 on half the speakers of the other corpus (EmoDB, or ravdess3 from EmoDB) after ``count``
    labelled clips of its other half joined the ``source`` training clips, each counted ``weight`` times
    (repeated rows, as `vietser adapt --weight`)."""
    target = data["emodb" if source == "ravdess" else "ravdess"]
    speakers = np.array(sorted(target["speaker"].unique()))
    rng = np.random.default_rng(draw)
    rng.shuffle(speakers)
    pool, test = speakers[: len(speakers) // 2], speakers[len(speakers) // 2 :]
    pool_rows = with_z(target[target["speaker"].isin(pool)].reset_index(drop=True), system.spread)
    labelled = pool_rows.iloc[rng.choice(len(pool_rows), count, replace=False)] if count else None
    extra = pd.concat([labelled] * weight, ignore_index=True) if labelled is not None else None
    fitted = Fitted(training_rows(data[source], Copies.of(data, source), system), system, extra)
    held = target[target["speaker"].isin(test)].reset_index(drop=True)
    return macro_f1(held["label"].to_numpy(), fitted.proba(held))


def mean_range(scores: list[float]) -> str:
    return f"{np.mean(scores):.3f} ({min(scores):.2f}–{max(scores):.2f})"


WEIGHT_CHOICES = (5, 10, 20, 40, 80, 160)
WEIGHT_COUNTS = (30, 100)
WEIGHT_DRAWS = 3


def weight_choice(data: dict[str, pd.DataFrame], jobs: int) -> dict[tuple[int, int], list[float]]:
    """How `vietser adapt`'s default weight was chosen: the default system adapted the other way,
    EmoDB → ravdess3, per (count, weight); so ravdess3 → EmoDB measures the weight rather than picks it."""
    tasks = [(count, weight, draw) for count in WEIGHT_COUNTS for weight in WEIGHT_CHOICES for draw in range(WEIGHT_DRAWS)]
    scores = Parallel(n_jobs=jobs)(
        delayed(adaptation_point)(SYSTEMS["defaults"], data, c, d, w, source="emodb") for c, w, d in tasks
    )
    chosen: dict[tuple[int, int], list[float]] = {}
    for (count, weight, _), score in zip(tasks, scores):
        chosen.setdefault((count, weight), []).append(score)
    return chosen


def adaptation_curves(
    columns: list[tuple[str, int]], data: dict[str, pd.DataFrame], jobs: int
) -> dict[tuple[str, int], dict[int, list[float]]]:
    """The adaptation curve of each (system name, weight) column; with no labelled clip the weight plays
    no part, so those points are fitted once per system."""
    tasks = {
        (name, weight if count else 0, count, draw)
        for name, weight in columns
        for count in ADAPTATION_COUNTS
        for draw in range(ADAPTATION_DRAWS)
    }
    ordered = sorted(tasks)
    scores = Parallel(n_jobs=jobs)(delayed(adaptation_point)(SYSTEMS[n], data, c, d, w) for n, w, c, d in ordered)
    by_task = dict(zip(ordered, scores))
    return {
        (name, weight): {
            count: [by_task[(name, weight if count else 0, count, draw)] for draw in range(ADAPTATION_DRAWS)]
            for count in ADAPTATION_COUNTS
        }
        for name, weight in columns
    }


def pooled_fold(system: System, both: pd.DataFrame, copies: Copies, test: np.ndarray) -> dict[str, np.ndarray]:
    """One fold over the speakers of both corpora: the pooled model and each corpus' own model on the held-out."""
    is_test = both["speaker"].isin(test).to_numpy()
    result = {"labels": both.loc[is_test, "label"].to_numpy(), "corpus": both.loc[is_test, "corpus"].to_numpy()}
    pooled = Fitted(training_rows(both[~is_test], copies[~is_test], system), system)
    result["pooled"] = pooled.proba(both[is_test])
    result["calm"] = pooled.proba(both[is_test & (both["label"] == "calm").to_numpy()])
    alone = np.zeros_like(result["pooled"])
    for corpus in pd.unique(both["corpus"]):
        own = (both["corpus"] == corpus).to_numpy()
        fitted = Fitted(training_rows(both[~is_test & own], copies[~is_test & own], system), system)
        alone[result["corpus"] == corpus] = fitted.proba(both[is_test & own])
    result["alone"] = alone
    return result


def pooled_corpora(system: System, data: dict[str, pd.DataFrame], n_folds: int, jobs: int) -> dict[str, str]:
    """Macro-F1 per corpus of the pooled model and of each corpus alone, same folds; vi-speech."""
    both = pd.concat(
        [data["ravdess"].assign(corpus="ravdess3"), data["emodb"].assign(corpus="emodb")], ignore_index=True
    )
    ravdess_copies, emodb_copies = Copies.of(data, "ravdess"), Copies.of(data, "emodb")
    copies = Copies(
        *(
            pd.concat([getattr(ravdess_copies, kind), getattr(emodb_copies, kind)], ignore_index=True)
            for kind in ("phone", "level")
        )
    )
    results = Parallel(n_jobs=jobs)(delayed(pooled_fold)(system, both, copies, test) for test in folds(both, n_folds))
    joined = {key: np.concatenate([r[key] for r in results]) for key in ("labels", "corpus")}
    joined |= {key: np.vstack([r[key] for r in results]) for key in ("pooled", "alone", "calm")}
    rows = {}
    for corpus in ("ravdess3", "emodb"):
        own = joined["corpus"] == corpus
        rows[f"held-out {corpus} speakers (macro-F1): pooled / {corpus} alone"] = (
            f"{macro_f1(joined['labels'][own], joined['pooled'][own]):.3f} / "
            f"{macro_f1(joined['labels'][own], joined['alone'][own]):.3f}"
        )
    rows["calm-only held-out speakers of both (called calm), pooled"] = f"{calm_share(joined['calm']):.0%}"
    everything = Fitted(training_rows(both, copies, system), system)
    rows["vi-speech, plain predict (called calm; max P(angry/panic)), pooled"] = vi_row(
        everything.proba(data["vi"].assign(speaker=""))
    )
    return rows


def load_data(jobs: int) -> dict[str, pd.DataFrame]:
    ravdess = manifest_of(RAVDESS)
    emodb = emodb_manifest(EMODB).frame
    emodb = emodb.assign(clip_id=emodb["path"], speaker=emodb["speaker"].astype(str))
    return {
        "ravdess": raw_features(ravdess, jobs),
        "phone": raw_features(copies_through(ravdess, "telephone", BENCH_DIR / "ravdess3-telephone"), jobs),
        "level": raw_features(copies_through(ravdess, "level", BENCH_DIR / "ravdess3-level"), jobs),
        "emodb": raw_features(emodb, jobs),
        "emodb-phone": raw_features(copies_through(emodb, "telephone", BENCH_DIR / "emodb-telephone"), jobs),
        "emodb-level": raw_features(copies_through(emodb, "level", BENCH_DIR / "emodb-level"), jobs),
        "vi": raw_features(manifest_of(VI_SPEECH), jobs),
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--folds", type=int, default=6)
    parser.add_argument("--adaptation", action="store_true", help="also the EmoDB adaptation curve (slow)")
    parser.add_argument("--pooled", action="store_true", help="also ravdess3 + EmoDB pooled in one training set")
    parser.add_argument(
        "--weights", action="store_true", help="also how adapt's default weight was chosen (EmoDB → ravdess3, slow)"
    )
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
    if args.adaptation:
        columns = [(names[0], DEFAULT_WEIGHT), (names[0], ISSUE_WEIGHT), (names[-1], ISSUE_WEIGHT), (names[-1], DEFAULT_WEIGHT)]
        adapted = adaptation_curves(columns, data, args.jobs)
        print("\n### Adaptation: ravdess3 → EmoDB with labelled EmoDB clips of other speakers\n")
        print(f"Mean (min–max) macro-F1 on 5 held-out EmoDB speakers over {ADAPTATION_DRAWS} draws of the labelled "
              f"speakers; each labelled clip counted ×{DEFAULT_WEIGHT} (`vietser adapt`'s default) or "
              f"×{ISSUE_WEIGHT} (the issue's line to beat).\n")
        print("| labelled target clips | " + " | ".join(f"{name} ×{weight}" for name, weight in adapted) + " |")
        print("|---:|" + "---:|" * len(adapted))
        for count in ADAPTATION_COUNTS:
            print(f"| {count} | " + " | ".join(mean_range(curve[count]) for curve in adapted.values()) + " |")
    if args.weights:
        chosen = weight_choice(data, args.jobs)
        print("\n### Choosing `vietser adapt --weight`: EmoDB → ravdess3, labelled clips of 9 actors, tested on the other 9\n")
        print(f"Mean (min–max) macro-F1 over {WEIGHT_DRAWS} draws, default system.\n")
        print("| labelled clips | " + " | ".join(f"×{w}" for w in WEIGHT_CHOICES) + " |")
        print("|---:|" + "---:|" * len(WEIGHT_CHOICES))
        for count in WEIGHT_COUNTS:
            print(f"| {count} | " + " | ".join(mean_range(chosen[(count, w)]) for w in WEIGHT_CHOICES) + " |")
    if args.pooled:
        print("\n### Two corpora in one training set (ravdess3 + EmoDB, default system)\n")
        print(f"{args.folds} leave-speakers-out folds over the 28 speakers of both corpora.\n")
        print("| measured | value |\n|---|---:|")
        for row, value in pooled_corpora(SYSTEMS[names[0]], data, args.folds, args.jobs).items():
            print(f"| {row} | {value} |")
    print(f"\n{args.folds} leave-speakers-out folds; {time.perf_counter() - start:.0f} s in all.")
    return results


if __name__ == "__main__":
    main()
