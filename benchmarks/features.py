"""Benchmark feature extraction: speed of each default set (eGeMAPS, prosody, emobase), all of them, and a cached rerun.

Usage::

    python -m benchmarks.features [--demo-dir D] [--data ../shared/data/ravdess3] [--limit N]

Corpora measured:

* the demo corpus in ``--demo-dir`` (its ``manifest.csv``; generated there
  with :func:`vietser.data.demo.make_demo_corpus` when the folder has none),
  or, without ``--demo-dir`` or when synthesis is unavailable, a few dozen
  generated voice-like tones;
* ``--data``: a folder with ``manifest.csv`` (``path,label,speaker,...``
  relative to it), such as the RAVDESS subset, when it exists.

Every measurement runs in one process (``jobs=1``) with a fresh cache, after
a one-clip warm-up that pays the one-time start costs (imports, openSMILE
configuration). Times include hashing, decoding, resampling and speaker
normalisation. Speeds are per CPU second of this process ("× real time per
core" = seconds of audio per CPU second), so other load on a shared machine
does not distort them; wall time is shown too. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import opensmile
import pandas as pd
import parselmouth
import soundfile as sf

from benchmarks.common import cpu_model
from vietser.errors import VietserError
from vietser.features.catalog import DEFAULT_SETS
from vietser.features.extract import extract_features

SAMPLE_RATE = 16_000
N_TONES = 36
STAGES = ("all default sets", "all default sets, cached rerun")


@dataclass(frozen=True)
class Row:
    corpus: str
    stage: str
    clips: int
    audio_s: float
    seconds: float
    cpu_seconds: float

    def markdown(self) -> str:
        return (
            f"| {self.corpus} | {self.stage} | {self.clips} | {self.audio_s:.1f} | {self.seconds:.2f} "
            f"| {self.cpu_seconds:.2f} | {self.clips / self.cpu_seconds:.1f} "
            f"| {self.audio_s / self.cpu_seconds:.1f}× |"
        )


def timed(corpus: str, stage: str, manifest: pd.DataFrame, sets: tuple[str, ...], cache_dir: Path) -> Row:
    started, started_cpu = time.perf_counter(), time.process_time()
    result = extract_features(manifest, sets=sets, cache_dir=cache_dir)  # type: ignore[arg-type]
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
    if stage == STAGES[1] and result.computed:
        raise SystemExit(f"{corpus}: the cached rerun recomputed {result.computed} clips")
    return Row(corpus, stage, len(result.frame), float(result.frame["duration_s"].sum()), seconds, cpu_seconds)


def tone_manifest(folder: Path) -> pd.DataFrame:
    """Voice-like tones with syllable-rate loudness bursts, 2-4 s, 6 speakers."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(N_TONES):
        duration = rng.uniform(2.0, 4.0)
        t = np.arange(int(duration * SAMPLE_RATE)) / SAMPLE_RATE
        f0 = rng.uniform(100, 300) * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))
        phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
        voice = sum(np.sin(k * phase) / k for k in range(1, 8)) * np.sin(np.pi * rng.uniform(3, 7) * t) ** 2
        signal = 0.3 * voice / np.max(np.abs(voice)) + rng.normal(0, 0.003, t.size)
        path = folder / f"tone_{i:02d}.wav"
        sf.write(path, signal.astype(np.float32), SAMPLE_RATE)
        rows.append({"clip_id": path.name, "path": str(path), "label": "calm", "speaker": f"s{i % 6}"})
    return pd.DataFrame(rows)


def folder_manifest(folder: Path) -> pd.DataFrame:
    """``manifest.csv`` of a folder, paths made absolute (read with pandas: no split column needed)."""
    frame = pd.read_csv(folder / "manifest.csv", dtype=str)
    frame.insert(0, "clip_id", frame["path"])
    frame["path"] = [str((folder / path).resolve()) for path in frame["path"]]
    return frame


def demo_manifest(demo_dir: Path | None, scratch: Path) -> tuple[str, pd.DataFrame]:
    if demo_dir is not None:
        if not (demo_dir / "manifest.csv").is_file():
            try:
                from vietser.data.demo import make_demo_corpus

                make_demo_corpus(demo_dir, n_speakers=4, clips_per_speaker=12)
            except (ImportError, VietserError) as exc:
                print(f"<!-- demo corpus unavailable ({exc}); using generated tones -->", file=sys.stderr)
        if (demo_dir / "manifest.csv").is_file():
            return "demo", folder_manifest(demo_dir)
    tones = scratch / "tones"
    tones.mkdir()
    return "tones", tone_manifest(tones)


def measure(corpus: str, manifest: pd.DataFrame, scratch: Path) -> list[Row]:
    extract_features(manifest.iloc[:1], cache_dir=scratch / f"{corpus}-warmup")
    alone = [timed(corpus, name, manifest, (name,), scratch / f"{corpus}-{name}") for name in DEFAULT_SETS]
    return [
        *alone,
        timed(corpus, STAGES[0], manifest, DEFAULT_SETS, scratch / f"{corpus}-all"),
        timed(corpus, STAGES[1], manifest, DEFAULT_SETS, scratch / f"{corpus}-all"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--demo-dir", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ravdess3"))
    parser.add_argument("--limit", type=int, default=None, help="use at most N clips per corpus")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vietser-bench-") as scratch_name:
        scratch = Path(scratch_name)
        corpora = [demo_manifest(args.demo_dir, scratch)]
        if (args.data / "manifest.csv").is_file():
            corpora.append((args.data.name, folder_manifest(args.data)))
        rows = []
        for name, manifest in corpora:
            rows += measure(name, manifest.head(args.limit) if args.limit else manifest, scratch)
    print(
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"opensmile {opensmile.__version__}; praat-parselmouth {parselmouth.__version__} "
        f"(Praat {parselmouth.PRAAT_VERSION}). Single process (jobs=1).\n"
    )
    print("| corpus | stage | clips | audio (s) | wall (s) | CPU (s) | clips/s | × real time per core |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row.markdown())
    print()
    for name, _ in corpora:
        first, cached = (next(r for r in rows if (r.corpus, r.stage) == (name, stage)) for stage in STAGES)
        print(f"- {name}: cached rerun {first.seconds / cached.seconds:.0f}× faster than the first run (wall time)")


if __name__ == "__main__":
    main()
