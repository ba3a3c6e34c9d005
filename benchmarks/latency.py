"""Latency of `vietser predict` per clip on the acoustic path, feature extraction included.

Usage::

    python -m benchmarks.latency [--clips 60] [--workdir DIR]

Trains a run on the demo corpus (once, in ``--workdir``), then decides
3-second clips one file at a time through :class:`vietser.run.predict.Predictor`
(load, resample, the run's feature sets, normalisation against the training
corpus, probabilities, evidence, routing; the rule engine for delegated clips)
with the feature cache disabled, and prints p50/p95/max milliseconds per clip.
Then the whole process, as a user deciding one file pays it: ``vietser predict
ONE.wav --run RUN`` in a fresh interpreter (imports, loading the run, one
clip), beside an empty interpreter, ``vietser --help`` and the import of
scikit-learn + skops that the compiled model keeps out of that process; the
median of ``--repeats`` runs, each with a fresh feature cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from benchmarks.common import BENCH_DIR, demo_features, machine
from vietser.config import load_config
from vietser.errors import VietserError
from vietser.run.evaluate import evaluate_run
from vietser.run.train import train_run
from vietser.run.predict import load_predictor

CLIP_S = 3.0


def trained_demo_run(workdir: Path, jobs: int) -> Path:
    """The demo run of an earlier measurement when this vietser can load it, else a new one."""
    run_dir = workdir / "latency-run"
    try:
        load_predictor(run_dir)
        return run_dir
    except VietserError:
        shutil.rmtree(run_dir, ignore_errors=True)
    train_run(demo_features(workdir, jobs), load_config(), run_dir)
    evaluate_run(run_dir)
    return run_dir


def three_second_clips(workdir: Path, n: int) -> list[Path]:
    """Demo clips padded or cut to exactly 3 s, written once."""
    source = sorted((workdir / "demo-corpus" / "audio").rglob("*.wav"))[:n]
    out = workdir / "latency-clips"
    out.mkdir(exist_ok=True)
    clips = []
    for path in source:
        samples, rate = sf.read(path, dtype="float32")
        target = int(CLIP_S * rate)
        samples = np.pad(samples, (0, max(0, target - len(samples))))[:target]
        clips.append(out / path.name)
        sf.write(clips[-1], samples, rate)
    return clips


def measure(workdir: Path, n: int, jobs: int) -> dict:
    run_dir = trained_demo_run(workdir, jobs)
    clips = three_second_clips(workdir, n)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["VIETSER_CACHE_DIR"] = cache  # every clip is computed, none cached
        predictor = load_predictor(run_dir)
        predictor(clips[0])  # warm-up: openSMILE and Praat initialise once per process
        seconds = []
        for clip in clips:
            started = time.perf_counter()
            predictor(clip)
            seconds.append(time.perf_counter() - started)
    ms = np.array(seconds) * 1000
    return {
        "clips": len(clips),
        "clip_s": CLIP_S,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
        "clips_per_s": float(len(ms) / (ms.sum() / 1000)),
    }


def process_seconds(command: list[str], repeats: int) -> float:
    """Median wall-clock seconds of ``command`` as a new process, each run with an empty feature cache."""
    seconds = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env={**os.environ, "VIETSER_CACHE_DIR": cache})
            seconds.append(time.perf_counter() - started)
    return float(np.median(seconds))


def whole_process(workdir: Path, repeats: int, jobs: int) -> str:
    run_dir, clip = trained_demo_run(workdir, jobs), three_second_clips(workdir, 1)[0]
    cli = [sys.executable, "-c", "from vietser.cli import app; app()"]
    rows = {
        "empty interpreter (`python -c pass`)": [sys.executable, "-c", "pass"],
        "`vietser --help`": [*cli, "--help"],
        "`vietser predict ONE.wav --run RUN` (3-s clip)": [*cli, "predict", str(clip), "--run", str(run_dir)],
        "`import sklearn, skops.io` (kept out of predict)": [sys.executable, "-c", "import sklearn.base, skops.io"],
    }
    measured = {name: process_seconds(command, repeats) for name, command in rows.items()}
    baseline = measured["empty interpreter (`python -c pass`)"]
    lines = ["| process | median s | × empty interpreter |", "|---|---:|---:|"]
    lines += [f"| {name} | {value:.2f} | {value / baseline:.1f} |" for name, value in measured.items()]
    return "\n".join(lines)


def markdown(result: dict) -> str:
    return (
        "| clips | clip length | p50 ms | p95 ms | max ms | clips/s (1 process) |\n|---:|---:|---:|---:|---:|---:|\n"
        f"| {result['clips']} | {result['clip_s']:.0f} s | {result['p50_ms']:.0f} | {result['p95_ms']:.0f} | "
        f"{result['max_ms']:.0f} | {result['clips_per_s']:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=BENCH_DIR)
    args = parser.parse_args()
    print(f"## predict latency (acoustic path, features included)\n\n{machine()}\n")
    print(markdown(measure(args.workdir, args.clips, args.jobs)))
    print(f"\n## one file, whole process\n\n{whole_process(args.workdir, args.repeats, args.jobs)}")


if __name__ == "__main__":
    main()
