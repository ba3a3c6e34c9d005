"""Whole calls built from real clips: segment boundaries, segment-level accuracy, speed, memory, streaming.

Usage::

    python -m benchmarks.calls [--run RUN] [--quick] [--workdir DIR]

Every RAVDESS actor becomes one call, decided by a run that never trained on
them (``--folds`` runs, each holding out one fold of actors): their RAVDESS clips, cut to their speech (10 ms levels within 35 dB of
the clip's peak, independent of any VAD), in runs of 2–4 clips of one label
(emotion persists), 0.8–2.5 s pauses between them, 1/f noise at 20 dB SNR
over the call; and the same call through the telephone channel (8 kHz,
300–3400 Hz, G.711). Printed:

- boundary precision / recall / F1 (a segment start or end within ±0.3 s of
  a clip's, one to one) for each VAD, and its time per call; also for the
  telephone calls played 10 and 20 dB quieter (real service calls differ
  in level by 20 dB);
- segment-level macro-F1 (each segment labelled with the clip it overlaps
  most) beside the same clips decided one by one as files of their speaker,
  the difference with a 95 % bootstrap interval over calls (a call's
  segments and clips resampled together), and with neighbour smoothing at
  several time constants;
- the real-time factor and peak RSS of `decide_call` on a 10-minute call on
  one core (a child process pinned to one CPU, one thread, a fresh feature
  cache; wall clock and CPU time, since on a shared machine the wall clock
  also counts other processes' turns), and the streaming latency: compute
  time from the chunk that closes a segment to its Decision, through
  :class:`~vietser.calls.live.LiveCall` fed 100 ms chunks.

Without ``--run``, ``--folds`` runs are trained once with `vietser run` on
ravdess3 in ``--workdir``: the actors shuffled (seed 0) and dealt into folds;
each run tests on one fold, chooses on the next (dev) and trains on the rest.
With ``--run``, only that run's test speakers make calls. Speed, memory and
streaming are measured with the first run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from sklearn.metrics import f1_score

from benchmarks.common import BENCH_DIR, RAVDESS, REPO, folds, machine
from vietser.calls.call import CallConfig, cut_call, decide_call
from vietser.calls.live import LiveCall
from vietser.calls.segment import SegmentationConfig
from vietser.calls.timeline import smooth
from vietser.data.audio import SAMPLE_RATE, load_audio
from vietser.data.channel import add_noise, telephone
from vietser.decision import Decision
from vietser.errors import VietserError
from vietser.labels import CLASSES
from vietser.run.predict import Predictor, load_predictor

TOLERANCE_S = 0.3
SNR_DB = 20.0
TEN_MINUTES_S = 600.0
CHUNK_S = 0.1
SMOOTHING_S = (2.0, 5.0, 10.0)


@dataclass(frozen=True)
class Utterance:
    start_s: float
    end_s: float
    label: str


@dataclass(frozen=True)
class BuiltCall:
    speaker: str
    path: Path
    utterances: list[Utterance]
    clips: list[Path]  # the same utterances as files, at the call's rate


def trim_to_speech(samples: np.ndarray, floor_db: float = 30.0, run_frames: int = 5) -> np.ndarray:
    """``samples`` from the first to the last run of ``run_frames`` 10 ms frames within ``floor_db`` of
    the loudest (a click or a breath in the clip's silence is not speech)."""
    step = SAMPLE_RATE // 100
    frames = samples[: len(samples) // step * step].reshape(-1, step)
    levels = 10 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-12)
    loud = np.convolve(levels > levels.max() - floor_db, np.ones(run_frames), mode="valid") == run_frames
    runs = np.flatnonzero(loud)
    return samples[runs[0] * step : (runs[-1] + run_frames) * step]


def label_runs(labels: list[str], rng: np.random.Generator) -> list[int]:
    """An order of clip indices in runs of 2–4 clips of one label, the runs shuffled."""
    by_label = {
        label: list(rng.permutation([i for i, x in enumerate(labels) if x == label])) for label in sorted(set(labels))
    }
    runs = []
    for indices in by_label.values():
        while indices:
            size = int(rng.integers(2, 5))
            runs.append(indices[:size])
            indices = indices[size:]
    return [int(i) for k in rng.permutation(len(runs)) for i in runs[k]]


def build_call(
    speaker: str, clips: list[np.ndarray], labels: list[str], out: Path, phone: bool, seed: int
) -> BuiltCall:
    """One speaker's clips as one call (see the module docstring), written with its clips as files."""
    rng = np.random.default_rng(seed)
    parts, utterances, at = [], [], 0.0
    for index in label_runs(labels, rng):
        pause = np.zeros(int(rng.uniform(0.8, 2.5) * SAMPLE_RATE), dtype=np.float32)
        parts += [pause, clips[index]]
        at += len(pause) / SAMPLE_RATE
        utterances.append(Utterance(round(at, 3), round(at + len(clips[index]) / SAMPLE_RATE, 3), labels[index]))
        at += len(clips[index]) / SAMPLE_RATE
    parts.append(np.zeros(SAMPLE_RATE, dtype=np.float32))
    signal = add_noise(np.concatenate(parts), SNR_DB, rng)
    kind = "phone" if phone else "studio"
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for number, u in enumerate(utterances):
        files.append(
            _write(
                out / f"{speaker}-{kind}-{number:03d}.wav",
                signal[int(u.start_s * SAMPLE_RATE) : int(u.end_s * SAMPLE_RATE)],
                phone,
            )
        )
    return BuiltCall(speaker, _write(out / f"{speaker}-{kind}.wav", signal, phone), utterances, files)


def _write(path: Path, samples: np.ndarray, phone: bool) -> Path:
    if phone:
        coded = telephone(samples, SAMPLE_RATE)
        sf.write(path, coded.samples, coded.sample_rate, subtype="PCM_16")
    else:
        sf.write(path, samples, SAMPLE_RATE, subtype="PCM_16")
    return path


def boundary_counts(predicted: list[tuple[float, float]], reference: list[Utterance]) -> tuple[int, int, int]:
    """(matched, predicted, reference) boundaries: starts with starts, ends with ends, one to one, ±0.3 s."""
    matched = 0
    for side in (0, 1):
        truth = [(u.start_s, u.end_s)[side] for u in reference]
        found = [span[side] for span in predicted]
        pairs = sorted(
            (abs(f - t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth) if abs(f - t) <= TOLERANCE_S
        )
        used_found, used_truth = set(), set()
        for _, i, j in pairs:
            if i not in used_found and j not in used_truth:
                used_found.add(i), used_truth.add(j)
        matched += len(used_found)
    return matched, 2 * len(predicted), 2 * len(reference)


def prf(matched: int, predicted: int, reference: int) -> tuple[float, float, float]:
    precision, recall = matched / max(predicted, 1), matched / max(reference, 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def true_labels(decisions: list[Decision], reference: list[Utterance]) -> list[str | None]:
    """The label of the clip each segment overlaps most (None: it overlaps none)."""
    labels = []
    for d in decisions:
        overlaps = [min(d.end_s or 0, u.end_s) - max(d.start_s or 0, u.start_s) for u in reference]
        best = int(np.argmax(overlaps))
        labels.append(reference[best].label if overlaps[best] > 0 else None)
    return labels


def macro_f1(truth: list[str | None], predicted: list[str]) -> float:
    """Macro-F1 over the three classes; a segment over no clip is left out, a clip not decided counts as wrong."""
    pairs = [(t, p) for t, p in zip(truth, predicted) if t is not None]
    return float(f1_score([t for t, _ in pairs], [p for _, p in pairs], labels=list(CLASSES), average="macro"))


def clip_by_clip(predictor: Predictor, call: BuiltCall) -> list[str]:
    """The call's clips decided one by one as files of their speaker (the speaker's own baseline)."""
    manifest = pd.DataFrame(
        {"clip_id": [str(p) for p in call.clips], "path": [str(p) for p in call.clips], "speaker": call.speaker}
    )
    decided = {d.clip_id: d.label for d in predictor.predict_manifest(manifest).decisions}
    return [decided.get(str(p), "missing") for p in call.clips]


def speaker_clips(run_dir: Path) -> dict[str, tuple[list[np.ndarray], list[str]]]:
    """Test-split speakers of the run: their clips cut to speech, and labels."""
    manifest = pd.read_csv(run_dir / "manifest.csv")
    test = manifest[(manifest["split"] == "test") & manifest["path"].str.startswith(str(RAVDESS.resolve()))]
    return {
        speaker: ([trim_to_speech(load_audio(p).samples) for p in rows["path"]], list(rows["label"]))
        for speaker, rows in test.groupby("speaker")
    }


def quieter(path: Path, gain_db: float, out: Path) -> Path:
    """A copy of the recording ``path`` played ``gain_db`` dB quieter (same rate and coding)."""
    samples, rate = sf.read(path, dtype="float32")
    quiet = out / f"{path.stem}-{gain_db:g}dB.wav"
    sf.write(quiet, samples * np.float32(10 ** (-gain_db / 20)), rate, subtype="PCM_16")
    return quiet


def vad_table(calls: list[BuiltCall]) -> str:
    lines = ["| VAD | audio | boundary P | R | F1 | s per call-minute |", "|---|---|---:|---:|---:|---:|"]
    for vad in ("webrtc", "praat"):
        for kind, gain_db in (("studio", 0.0), ("phone", 0.0), ("phone", 10.0), ("phone", 20.0)):
            chosen = [c for c in calls if c.path.stem.endswith(kind)]
            counts, seconds, minutes = np.zeros(3), 0.0, 0.0
            for call in chosen:
                with tempfile.TemporaryDirectory() as work:
                    path = quieter(call.path, gain_db, Path(work)) if gain_db else call.path
                    started = time.perf_counter()
                    cut = cut_call(path, Path(work), CallConfig(segmentation=SegmentationConfig(vad=vad)))[0]
                    seconds += time.perf_counter() - started
                counts += boundary_counts(cut.spans, call.utterances)
                minutes += call.utterances[-1].end_s / 60
            p, r, f = prf(*counts)
            audio = f"{kind}, {gain_db:g} dB quieter" if gain_db else kind
            lines.append(f"| {vad} | {audio} | {p:.3f} | {r:.3f} | {f:.3f} | {seconds / minutes:.3f} |")
    return "\n".join(lines)


@dataclass
class CallScore:
    """One call decided as segments and as its clips one by one."""

    kind: str  # studio | phone
    matched: np.ndarray  # boundary counts: matched, predicted, reference
    segment_truth: list[str | None]
    segment_labels: list[str]
    smoothed: dict[float, list[str]]
    clip_truth: list[str]
    clip_labels: list[str]


def score_call(predictor: Predictor, call: BuiltCall) -> CallScore:
    decisions = decide_call(predictor, call.path, CallConfig(channel_names=(call.speaker,))).decisions
    return CallScore(
        kind="phone" if call.path.stem.endswith("phone") else "studio",
        matched=np.array(boundary_counts([(d.start_s or 0, d.end_s or 0) for d in decisions], call.utterances)),
        segment_truth=true_labels(decisions, call.utterances),
        segment_labels=[d.label for d in decisions],
        smoothed={tau: [d.label for d in smooth(decisions, tau)] for tau in SMOOTHING_S},
        clip_truth=[u.label for u in call.utterances],
        clip_labels=clip_by_clip(predictor, call),
    )


def pooled(scores: list[CallScore], attribute: str) -> list:
    return [x for score in scores for x in getattr(score, attribute)]


def segment_minus_clip(scores: list[CallScore]) -> float:
    """Segment-level macro-F1 minus clip-by-clip macro-F1 over ``scores`` pooled."""
    return macro_f1(pooled(scores, "segment_truth"), pooled(scores, "segment_labels")) - macro_f1(
        pooled(scores, "clip_truth"), pooled(scores, "clip_labels")
    )


def bootstrap_interval(scores: list[CallScore], draws: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95 % interval of :func:`segment_minus_clip`, calls resampled with replacement."""
    rng = np.random.default_rng(seed)
    deltas = [segment_minus_clip([scores[i] for i in rng.integers(0, len(scores), len(scores))]) for _ in range(draws)]
    low, high = np.percentile(deltas, [2.5, 97.5])
    return float(low), float(high)


def accuracy_table(scores: list[CallScore]) -> str:
    lines = [
        "| audio | calls | segments / clips | boundary F1 | segment macro-F1 | clip-by-clip macro-F1 | Δ (95 % CI over calls) | "
        + " | ".join(f"smoothed τ={tau:g} s" for tau in SMOOTHING_S)
        + " |",
        "|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(SMOOTHING_S),
    ]
    for kind in ("studio", "phone"):
        chosen = [score for score in scores if score.kind == kind]
        truth = pooled(chosen, "segment_truth")
        segment_f1 = macro_f1(truth, pooled(chosen, "segment_labels"))
        clip_f1 = macro_f1(pooled(chosen, "clip_truth"), pooled(chosen, "clip_labels"))
        low, high = bootstrap_interval(chosen)
        smooth_cells = " | ".join(
            f"{macro_f1(truth, [x for score in chosen for x in score.smoothed[tau]]):.3f}" for tau in SMOOTHING_S
        )
        n_segments, n_clips = len(pooled(chosen, "segment_labels")), len(pooled(chosen, "clip_truth"))
        boundary_f1 = prf(*sum(score.matched for score in chosen))[2]
        lines.append(
            f"| {kind} | {len(chosen)} | {n_segments} / {n_clips} | {boundary_f1:.3f} | {segment_f1:.3f} | "
            f"{clip_f1:.3f} | {segment_f1 - clip_f1:+.3f} ({low:+.3f} … {high:+.3f}) | {smooth_cells} |"
        )
    return "\n".join(lines)


def ten_minute_call(clips: list[np.ndarray], labels: list[str], out: Path) -> Path:
    """One speaker's clips repeated (fresh noise each time, so no segment repeats) to ten minutes."""
    repeats = int(np.ceil(TEN_MINUTES_S / (sum(len(c) for c in clips) / SAMPLE_RATE + 1.65 * len(clips))))
    call = build_call("ten-minutes", clips * repeats, labels * repeats, out, phone=False, seed=7)
    return call.path


def one_call(run_dir: Path, path: Path) -> dict[str, float]:
    """Decide ``path`` once; what the child process reports."""
    predictor = load_predictor(run_dir)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    result = decide_call(predictor, path)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    duration = result.summary.duration_s
    return {
        "duration_s": duration,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "real_time_factor": duration / seconds,
        "cpu_real_time_factor": duration / cpu,
        "segments": len(result.decisions),
        "peak_rss_mib": peak_rss_mib(),
    }


def peak_rss_mib() -> float:
    """This process' resident-set high-water mark (VmHWM: reset at exec, unlike ru_maxrss, which a
    child started by fork keeps from its parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_core_measure(run_dir: Path, path: Path) -> dict[str, float]:
    """:func:`one_call` in a child pinned to one CPU, one thread per library, a fresh feature cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "VIETSER_CACHE_DIR": cache,
        }
        cpu = min(os.sched_getaffinity(0))
        command = [
            "taskset",
            "-c",
            str(cpu),
            sys.executable,
            "-m",
            "benchmarks.calls",
            "--run",
            str(run_dir),
            "--one-call",
            str(path),
        ]
        completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def streaming_latency(predictor: Predictor, calls: list[BuiltCall]) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock and CPU seconds from the chunk that closes each segment to its Decision."""
    wall, cpu = [], []
    for call in calls:
        samples = load_audio(call.path, max_duration_s=TEN_MINUTES_S).samples
        step = int(CHUNK_S * SAMPLE_RATE)
        with LiveCall(predictor, call.speaker) as live:
            for offset in range(0, len(samples), step):
                started, cpu_started = time.perf_counter(), time.process_time()
                decided = [e for e in live.feed(samples[offset : offset + step]) if isinstance(e, Decision)]
                wall += [time.perf_counter() - started] * len(decided)
                cpu += [time.process_time() - cpu_started] * len(decided)
    return np.array(wall), np.array(cpu)


def fold_splits(manifest: pd.DataFrame, n_folds: int) -> list[dict[str, str]]:
    """For each fold (:func:`benchmarks.common.folds`), every speaker's split: that fold test, the next
    one dev, the rest train."""
    groups = folds(manifest, n_folds)
    splits = []
    for k in range(n_folds):
        split = {speaker: "train" for speaker in manifest["speaker"].unique()}
        split.update({speaker: "dev" for speaker in groups[(k + 1) % n_folds]})
        split.update({speaker: "test" for speaker in groups[k]})
        splits.append(split)
    return splits


def ensure_runs(workdir: Path, n_folds: int) -> list[Path]:
    """One run per fold of ravdess3 actors (see the module docstring), each made once with `vietser run`."""
    manifest = pd.read_csv(RAVDESS / "manifest.csv")
    manifest["path"] = [str((RAVDESS / p).resolve()) for p in manifest["path"]]
    workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for k, split in enumerate(fold_splits(manifest, n_folds)):
        run_dir = workdir / f"calls-run-{k + 1}-of-{n_folds}"
        runs.append(run_dir)
        try:
            load_predictor(run_dir)
            continue
        except VietserError:
            pass
        manifest_path = workdir / f"calls-ravdess3-{k + 1}-of-{n_folds}.csv"
        manifest[["path", "label", "speaker"]].assign(split=manifest["speaker"].map(split)).to_csv(
            manifest_path, index=False
        )
        command = [sys.executable, "-c", "from vietser.cli import app; app()", "run", str(manifest_path), "-o", str(run_dir)]
        subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    return runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--run", type=Path, help="run directory (default: train --folds runs on ravdess3 in --workdir)")
    parser.add_argument("--workdir", type=Path, default=BENCH_DIR)
    parser.add_argument("--folds", type=int, default=4, help="runs over folds of actors (without --run)")
    parser.add_argument("--quick", action="store_true", help="one run, two test speakers")
    parser.add_argument("--one-call", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one_call is not None:
        print(json.dumps(one_call(args.run, args.one_call)))
        return
    if not RAVDESS.is_dir():
        print(f"{RAVDESS} not found: the calls benchmark needs ravdess3")
        return
    runs = [args.run] if args.run else ensure_runs(args.workdir, 1 if args.quick else args.folds)
    out = args.workdir / "calls"
    calls, scores, number = [], [], 0
    for run_dir in runs:
        predictor = load_predictor(run_dir)
        speakers = speaker_clips(run_dir)
        for speaker in sorted(speakers)[: 2 if args.quick else None]:
            for phone in (False, True):
                call = build_call(speaker, *speakers[speaker], out, phone, seed=number)
                calls.append(call)
                scores.append(score_call(predictor, call))
            number += 1
    names = ", ".join(sorted({call.speaker for call in calls}))
    print(f"{machine()}\n\nruns {', '.join(str(r) for r in runs)}; one call per test speaker ({names}), studio and telephone\n")
    print(vad_table(calls) + "\n")
    print(accuracy_table(scores) + "\n")
    first_run = speaker_clips(runs[0])
    long_call = ten_minute_call(*first_run[min(first_run)], out)
    cost = one_core_measure(runs[0], long_call)
    studio = [c for c in calls if c.speaker in first_run and c.path.stem.endswith("studio")]
    wall, cpu = streaming_latency(load_predictor(runs[0]), studio)
    print("| 10-minute call, one core | value |\n|---|---:|")
    print(f"| call length | {cost['duration_s']:.0f} s, {cost['segments']:.0f} segments |")
    print(
        f"| decided in (wall clock, on a shared CPU) | {cost['seconds']:.1f} s ({cost['real_time_factor']:.0f}× real time) |"
    )
    print(f"| CPU time | {cost['cpu_seconds']:.1f} s ({cost['cpu_real_time_factor']:.0f}× real time) |")
    print(f"| peak RSS | {cost['peak_rss_mib']:.0f} MiB |")
    for name, latency in (("wall clock", wall), ("CPU", cpu)):
        print(
            f"| streaming latency, chunk closing a segment → Decision, {name} ({len(latency)} segments) | "
            f"p50 {np.percentile(latency, 50) * 1000:.0f} ms, p95 {np.percentile(latency, 95) * 1000:.0f} ms |"
        )


if __name__ == "__main__":
    main()
