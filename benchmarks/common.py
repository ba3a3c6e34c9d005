"""What every benchmark shares: the machine line and the corpora it measures on."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
from datetime import date
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
RAVDESS = REPO.parent / "shared" / "data" / "ravdess3"
BENCH_DIR = Path(tempfile.gettempdir()) / "vietser-bench"
LIBRARIES = ("vietser", "numpy", "scikit-learn", "opensmile", "praat-parselmouth", "pandas")


def folds(frame: pd.DataFrame, n: int, seed: int = 0) -> list[np.ndarray]:
    """The frame's speakers, shuffled with ``seed``, dealt into ``n`` leave-speakers-out folds."""
    speakers = np.array(sorted(frame["speaker"].unique()))
    np.random.default_rng(seed).shuffle(speakers)
    return np.array_split(speakers, n)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    """One line naming the machine, the date, Python and the library versions a number depends on."""
    libraries = ", ".join(f"{name} {version(name)}" for name in LIBRARIES)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{date.today().isoformat()} · {cpu_model()}, {os.cpu_count()} cores (load {load}) · "
        f"Python {platform.python_version()} · {libraries}"
    )


def corpus_manifest(data_dir: Path) -> pd.DataFrame:
    """A manifest folder (manifest.csv with path,label,speaker relative to it) as extraction input."""
    manifest = pd.read_csv(data_dir / "manifest.csv")
    return manifest.assign(
        clip_id=manifest["path"],
        path=[str((data_dir / p).resolve()) for p in manifest["path"]],
        speaker=manifest["speaker"].astype(str),
        split=manifest["split"] if "split" in manifest.columns else "train",
    )


def corpus_features(data_dir: Path, jobs: int) -> pd.DataFrame:
    """Features of a manifest folder, extracted or from the user cache (split "train" where the manifest has none)."""
    from vietser.features.extract import extract_features

    result = extract_features(corpus_manifest(data_dir), jobs=jobs)
    if result.skipped:
        print(f"{data_dir}: {len(result.skipped)} clips skipped", file=sys.stderr)
    return result.frame


def demo_features(workdir: Path, jobs: int, n_speakers: int = 12, clips_per_speaker: int = 30) -> pd.DataFrame:
    """The built-in demo corpus (made once in ``workdir``) with its features."""
    from vietser.data.demo import make_demo_corpus

    corpus_dir = workdir / "demo-corpus"
    if not (corpus_dir / "manifest.csv").is_file():
        make_demo_corpus(corpus_dir, n_speakers=n_speakers, clips_per_speaker=clips_per_speaker, n_jobs=jobs)
    return corpus_features(corpus_dir, jobs)
