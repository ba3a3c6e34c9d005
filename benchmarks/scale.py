"""Benchmark streamed feature extraction at corpus scale: speed, peak memory, cached rerun, Dask vs loky.

Usage::

    python -m benchmarks.scale [--n 10000] [--dask-n 400] [--jobs 2] [--workdir DIR] [--keep]

Generates ``--n`` voice-like clips of 1-3 s from ``--n / 20`` speakers (a
few hundred distinct source signals, each clip a random excerpt with its own
gain and noise, so every file has its own content hash), then measures, each
in a fresh process with a fresh feature cache:

* :func:`vietser.features.stream.extract_to_parquet` on all clips with
  ``--jobs`` loky workers, then its rerun from the cache, then the in-memory
  :func:`~vietser.features.extract.extract_features` + ``write_features``
  from the same cache (what holding the whole table costs);
* the first ``--dask-n`` clips with loky and with Dask (a LocalCluster of
  ``--jobs`` workers x 1 thread, started inside the timed call).

Memory is sampled every 0.1 s over the measuring process and all its
descendants (the workers): the summed proportional set size (PSS: shared
pages split between the processes that map them, the honest total), the
summed resident set size (RSS: shared pages counted once per process, an
overstatement) and the largest single RSS. CPU time is that of the whole
process tree during the call, worker start-up included. Prints a Markdown
table with the machine and its load average (other users' work shows there).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import soundfile as sf

from benchmarks.common import REPO, machine

SAMPLE_RATE = 16_000
N_SOURCES = 300
SOURCE_S = 3.0
CLIPS_PER_SPEAKER = 20
LABELS = ("calm", "angry", "panic")
MIB = 1 << 20


@dataclass(frozen=True)
class Measurement:
    run: str
    backend: str
    clips: int
    skipped: int
    audio_s: float
    wall_s: float
    cpu_s: float
    peak_pss_sum: int
    peak_rss_sum: int
    peak_rss_largest: int

    def markdown(self) -> str:
        return (
            f"| {self.run} | {self.backend} | {self.clips} | {self.skipped} | {self.audio_s / 3600:.2f} "
            f"| {self.wall_s:.1f} | {self.cpu_s:.1f} | {self.clips / self.wall_s:.1f} "
            f"| {self.audio_s / self.wall_s:.1f}× | {self.peak_pss_sum / MIB:.0f} | {self.peak_rss_sum / MIB:.0f} "
            f"| {self.peak_rss_largest / MIB:.0f} |"
        )


class ProcessTree:
    """Watches this process and its descendants (workers): peak memory in a background thread, CPU time."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.peak_pss_sum = self.peak_rss_sum = self.peak_rss_largest = 0
        self.cpu_s = 0.0
        self._me = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ProcessTree:
        self._cpu_before = self._cpu()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu_s = self._cpu() - self._cpu_before
        self._stop.set()
        self._thread.join()

    def _processes(self) -> list[psutil.Process]:
        return [self._me, *self._me.children(recursive=True)]

    def _cpu(self) -> float:
        """CPU seconds of the tree: live processes, plus the children each has already reaped."""
        total = 0.0
        for process in self._processes():
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        return total

    def _sample(self) -> None:
        while not self._stop.is_set():
            pss = rss = 0
            for process in self._processes():
                with contextlib.suppress(psutil.Error):
                    memory = process.memory_full_info()
                    pss, rss = pss + memory.pss, rss + memory.rss
                    self.peak_rss_largest = max(self.peak_rss_largest, memory.rss)
            self.peak_pss_sum, self.peak_rss_sum = max(self.peak_pss_sum, pss), max(self.peak_rss_sum, rss)
            self._stop.wait(self.interval_s)


def source_signals(rng: np.random.Generator) -> list[np.ndarray]:
    """Voice-like sources: harmonics on a wandering f0, with syllable-rate loudness bursts."""
    t = np.arange(int(SOURCE_S * SAMPLE_RATE)) / SAMPLE_RATE
    sources = []
    for _ in range(N_SOURCES):
        f0 = rng.uniform(90, 320) * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t + rng.uniform(0, 6)))
        phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
        voice = sum(np.sin(k * phase) / k**rng.uniform(0.8, 1.6) for k in range(1, 9))
        envelope = np.sin(np.pi * rng.uniform(3, 7) * t + rng.uniform(0, 3)) ** 2
        sources.append((voice * envelope / np.max(np.abs(voice))).astype(np.float32))
    return sources


def make_corpus(folder: Path, n: int, seed: int = 0) -> pd.DataFrame:
    """Write ``n`` clips (distinct contents) and their manifest; reuse them when already there."""
    manifest_path = folder / "manifest.csv"
    if manifest_path.is_file():
        return pd.read_csv(manifest_path, dtype=str, keep_default_na=False)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sources = source_signals(rng)
    n_speakers = max(1, n // CLIPS_PER_SPEAKER)
    rows = []
    for i in range(n):
        speaker = int(rng.integers(n_speakers))
        source = sources[(speaker * 7 + int(rng.integers(5))) % N_SOURCES]
        length = int(rng.uniform(1.0, 3.0) * SAMPLE_RATE)
        start = int(rng.integers(0, len(source) - length + 1))
        clip = source[start : start + length] * rng.uniform(0.05, 0.6) + rng.normal(0, 2e-3, length)
        name = f"spk{speaker:04d}/clip_{i:05d}.wav"
        (folder / name).parent.mkdir(exist_ok=True)
        sf.write(folder / name, clip.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        rows.append({"clip_id": name, "path": str(folder / name), "label": LABELS[i % 3], "speaker": f"spk{speaker:04d}"})
    manifest = pd.DataFrame(rows).assign(split="train")
    manifest.to_csv(manifest_path, index=False)
    return manifest


def measure(job: dict[str, str]) -> Measurement:
    """Run one extraction in this process (called in a fresh interpreter) and measure it."""
    from vietser.features.extract import extract_features, read_features, write_features
    from vietser.features.stream import extract_to_parquet

    manifest = pd.read_csv(job["manifest"], dtype=str, keep_default_na=False).head(int(job["n"]))
    output, cache, jobs, backend = Path(job["output"]), Path(job["cache"]), int(job["jobs"]), job["backend"]
    with ProcessTree() as tree:
        started = time.perf_counter()
        if job["run"].startswith("in-memory"):
            result = extract_features(manifest, jobs=jobs, backend=backend, cache_dir=cache)  # type: ignore[arg-type]
            write_features(result.frame, output)
            rows = len(result.frame)
        else:
            result = extract_to_parquet(manifest, output, jobs=jobs, backend=backend, cache_dir=cache)  # type: ignore[arg-type,assignment]
            rows = result.rows  # type: ignore[attr-defined]
        wall = time.perf_counter() - started
    if "cached" in job["run"] and result.computed:
        raise SystemExit(f"{job['run']}: recomputed {result.computed} clips")
    audio_s = float(read_features(output)["duration_s"].sum())
    return Measurement(
        job["run"], backend, rows, len(result.skipped), audio_s, wall, tree.cpu_s,
        tree.peak_pss_sum, tree.peak_rss_sum, tree.peak_rss_largest,
    )


def measured_in_child(job: dict[str, str]) -> Measurement:
    """Run :func:`measure` in a fresh interpreter, so each run's memory and start-up are its own."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", "--measure", json.dumps(job)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return Measurement(**json.loads(done.stdout.strip().splitlines()[-1]))


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=10_000, help="clips for the streamed run (default 10000)")
    parser.add_argument("--dask-n", type=int, default=400, help="clips for Dask vs loky (default 400)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for clips, caches and outputs")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (clips are reused next time)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asdict(measure(json.loads(args.measure)))))
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vietser-scale-"))
    try:
        run_all(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def run_all(args: argparse.Namespace, workdir: Path) -> None:
    started = time.perf_counter()
    n = max(args.n, args.dask_n)
    manifest = workdir / f"clips-{n}" / "manifest.csv"
    make_corpus(manifest.parent, n)
    generated_s = time.perf_counter() - started
    load_before = load()
    for stale in ("stream", "dask", "loky"):
        shutil.rmtree(workdir / f"cache-{stale}", ignore_errors=True)

    def job(run: str, backend: str, clips: int, cache: str) -> dict[str, str]:
        return {"run": run, "backend": backend, "n": str(clips), "jobs": str(args.jobs), "manifest": str(manifest),
                "output": str(workdir / f"features-{cache}.parquet"), "cache": str(workdir / f"cache-{cache}")}

    rows = [
        measured_in_child(job("streamed, fresh cache", "loky", args.n, "stream")),
        measured_in_child(job("streamed, cached rerun", "loky", args.n, "stream")),
        measured_in_child(job("in-memory, cached rerun", "loky", args.n, "stream")),
        measured_in_child(job("streamed, fresh cache", "loky", args.dask_n, "loky")),
        measured_in_child(job("streamed, fresh cache", "dask", args.dask_n, "dask")),
    ]
    print(f"Machine: {machine()}. Load average (1, 5, 15 min) {load_before} before the runs, {load()} after.")
    print(f"Workers: {args.jobs} (loky processes; Dask LocalCluster {args.jobs} workers × 1 thread). ")
    print(f"Generated {n} clips in {generated_s:.0f} s (not timed below).\n")
    print("| run | backend | clips | skipped | audio (h) | wall (s) | CPU (s) | clips/s | × real time (wall) "
          "| peak PSS, all processes (MiB) | peak RSS, all processes (MiB) | peak RSS, largest process (MiB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row.markdown())
    fresh, cached = rows[0], rows[1]
    print(f"\n- cached rerun: {fresh.wall_s / cached.wall_s:.0f}× faster than the first run (wall time)")
    print(f"- Dask vs loky on {args.dask_n} clips: {rows[4].wall_s / rows[3].wall_s:.2f}× the loky wall time")


if __name__ == "__main__":
    main()
