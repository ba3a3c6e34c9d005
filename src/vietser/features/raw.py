"""Raw features of a batch of clips: hash each file, read the cache, compute the rest on workers.

Both the in-memory extraction (:mod:`vietser.features.extract`) and the
streamed one (:mod:`vietser.features.stream`) run their clips through
:func:`extract_raw`, so a clip gets the same values whichever path made it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config

from vietser.data.audio import Audio, file_sha256, load_audio
from vietser.errors import AudioError, ConfigError, FeatureError, ManifestError
from vietser.features.cache import CachedFeatures, FeatureCache
from vietser.features.catalog import FEATURE_SETS, Z_PREFIX
from vietser.features.prosody import COLUMNS as PROSODY_COLUMNS
from vietser.features.prosody import extract_prosody
from vietser.features.smile import OPENSMILE_SETS, extract_smile, smile_columns

Backend = Literal["loky", "dask"]
Progress = Callable[[int, int], None]

ADDED_COLUMNS = ("audio_sha256", "duration_s")
_DASK_MISSING = "the dask backend needs dask.distributed: pip install 'vietser[dask]'"
_PARENT_POLL_S = 0.5


@dataclass(frozen=True)
class SkippedClip:
    """A clip left out of the features table, and why."""

    clip_id: str
    path: str
    reason: str


@dataclass
class RawBatch:
    """Raw features of the usable clips of a batch, in manifest order, and an account of the rest."""

    frame: pd.DataFrame
    skipped: list[SkippedClip]
    computed: int
    cached: int


@dataclass(frozen=True)
class _Job:
    position: int
    path: str
    sets: tuple[str, ...]


@dataclass(frozen=True)
class _Outcome:
    position: int
    duration_s: float = 0.0
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    error: str | None = None


@dataclass
class _Clip:
    sha256: str
    entries: dict[str, CachedFeatures] = field(default_factory=dict)


def feature_set_columns(feature_set: str) -> tuple[str, ...]:
    """The raw columns one feature set produces, in table order."""
    return smile_columns(feature_set) if feature_set in OPENSMILE_SETS else PROSODY_COLUMNS


def extract_set(feature_set: str, audio: Audio) -> dict[str, float]:
    """The raw values of one feature set for one clip."""
    return extract_smile(feature_set, audio) if feature_set in OPENSMILE_SETS else extract_prosody(audio)


def feature_columns(sets: tuple[str, ...]) -> list[str]:
    """The raw columns of ``sets``, in table order."""
    return [column for name in sets for column in feature_set_columns(name)]


def raw_feature_columns(frame: pd.DataFrame) -> list[str]:
    """The raw feature columns of a table (not their ``z.`` or ``spread.`` counterparts), in table order."""
    return [c for c in frame.columns if str(c).split(".", 1)[0] in FEATURE_SETS]


def is_feature_column(column: str) -> bool:
    """True for raw and ``z.`` feature columns (of any set)."""
    return column.startswith(tuple(f"{prefix}{name}." for prefix in ("", Z_PREFIX) for name in FEATURE_SETS))


def check_request(manifest: pd.DataFrame, sets: tuple[str, ...], backend: str, jobs: int) -> tuple[str, ...]:
    """Validate an extraction request; return ``sets`` in table order.

    Raises:
        ConfigError: unknown feature set or backend, ``jobs`` below 1, or Dask missing.
        ManifestError: the manifest lacks ``clip_id`` or ``path``.
    """
    unknown = sorted(set(sets) - set(FEATURE_SETS))
    if unknown or not sets:
        raise ConfigError(f"unknown or no feature set(s) {unknown}; choose from {list(FEATURE_SETS)}")
    if backend not in ("loky", "dask"):
        raise ConfigError(f"unknown backend {backend!r}; choose 'loky' or 'dask'")
    if jobs < 1:
        raise ConfigError(f"jobs is {jobs}; use 1 or more worker processes")
    if backend == "dask" and importlib.util.find_spec("distributed") is None:
        raise ConfigError(_DASK_MISSING)
    missing = [column for column in ("clip_id", "path") if column not in manifest.columns]
    if missing:
        raise ManifestError(f"manifest lacks column(s) {missing}; load it with vietser.data.manifest")
    return tuple(name for name in FEATURE_SETS if name in sets)


class Workers:
    """The joblib backend clips are computed on: started at the first clip to compute, stopped on exit.

    Entered once around many batches, so a Dask cluster is started (or
    connected to) once, and not at all when every clip comes from the cache.
    """

    def __init__(self, backend: Backend, scheduler: str | None, jobs: int) -> None:
        self.backend = backend
        self.scheduler = scheduler
        self.jobs = jobs
        self._stack = contextlib.ExitStack()
        self._started = False

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stack.close()

    def run(self, jobs_to_run: list[_Job], sample_rate: int) -> Iterator[_Outcome]:
        """Compute ``jobs_to_run``, yielding outcomes as they finish (in any order)."""
        if not jobs_to_run:
            return
        if not self._started:
            self._stack.enter_context(_backend(self.backend, self.scheduler, self.jobs))
            self._started = True
        parallel = Parallel(n_jobs=self.jobs, return_as="generator_unordered")
        # One worker process leaves the other cores idle: spread a clip's feature sets over threads
        # (openSMILE and Praat run outside the GIL), which cuts single-clip latency.
        threads = self.jobs == 1
        yield from parallel(delayed(_compute)(job, sample_rate, threads) for job in jobs_to_run)


def extract_raw(
    manifest: pd.DataFrame,
    sets: tuple[str, ...],
    cache: FeatureCache,
    workers: Workers,
    sample_rate: int,
    progress: Progress | None = None,
) -> RawBatch:
    """Raw features of every usable clip of ``manifest``; computed values are written to ``cache``.

    ``progress(done, total)`` counts this batch's clips: once after the cache
    lookup, then once per computed clip.
    """
    total = len(manifest)
    clips, pending, skipped = _plan(manifest, sets, cache, sample_rate)
    cached = len(clips) - len(pending)
    done = total - len(pending)
    if progress is not None:
        progress(done, total)
    computed = 0
    for outcome in workers.run(pending, sample_rate):
        done += 1
        if outcome.error is not None:
            row = manifest.iloc[outcome.position]
            skipped[outcome.position] = SkippedClip(str(row["clip_id"]), str(row["path"]), outcome.error)
            del clips[outcome.position]
        else:
            clip = clips[outcome.position]
            for name, values in outcome.values.items():
                entry = CachedFeatures(outcome.duration_s, values)
                cache.put(clip.sha256, name, sample_rate, entry)
                clip.entries[name] = entry
            computed += 1
        if progress is not None:
            progress(done, total)
    return RawBatch(
        frame=_raw_table(manifest, clips, sets),
        skipped=[skipped[position] for position in sorted(skipped)],
        computed=computed,
        cached=cached,
    )


def _plan(
    manifest: pd.DataFrame, sets: tuple[str, ...], cache: FeatureCache, sample_rate: int
) -> tuple[dict[int, _Clip], list[_Job], dict[int, SkippedClip]]:
    """Hash every file and look it up in the cache; list the work left."""
    clips: dict[int, _Clip] = {}
    pending: list[_Job] = []
    skipped: dict[int, SkippedClip] = {}
    for position, (clip_id, path) in enumerate(zip(manifest["clip_id"], manifest["path"])):
        try:
            sha256 = file_sha256(path)
        except OSError as exc:
            skipped[position] = SkippedClip(str(clip_id), str(path), f"cannot read file: {exc.strerror or exc}")
            continue
        clip = _Clip(sha256)
        for name in sets:
            entry = cache.get(sha256, name, sample_rate)
            if entry is not None:
                clip.entries[name] = entry
        clips[position] = clip
        missing = tuple(name for name in sets if name not in clip.entries)
        if missing:
            pending.append(_Job(position, str(path), missing))
    return clips, pending, skipped


@contextlib.contextmanager
def _backend(backend: str, scheduler: str | None, jobs: int) -> Iterator[None]:
    if backend == "loky":
        with parallel_config(backend="loky", initializer=end_with_parent, initargs=(os.getpid(),)):
            yield
        return
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError(_DASK_MISSING) from exc
    client = Client(scheduler) if scheduler else Client(n_workers=jobs, threads_per_worker=1)
    with client, parallel_config(backend="dask"):
        yield


def end_with_parent(parent: int) -> None:
    """Loky worker initializer: exit as soon as ``parent`` (the process that started the workers) is gone.

    Loky only stops its workers when the parent shuts the executor down; a
    parent killed with SIGKILL would leave them computing, orphaned. The
    worker is a direct child of ``parent``, so its parent pid changes when
    ``parent`` dies. A thread polls it rather than PR_SET_PDEATHSIG, which
    fires when the *thread* that spawned the worker ends, and is Linux-only.
    """
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="vietser-parent-watch", daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_POLL_S)
    os._exit(1)


def _compute(job: _Job, sample_rate: int, threads: bool = False) -> _Outcome:
    """Load one clip and compute the missing feature sets (runs in a worker), on threads if asked."""
    try:
        audio = load_audio(job.path, sample_rate=sample_rate)
        if threads and len(job.sets) > 1:
            with ThreadPoolExecutor(len(job.sets)) as pool:
                values = dict(zip(job.sets, pool.map(lambda name: extract_set(name, audio), job.sets)))
        else:
            values = {name: extract_set(name, audio) for name in job.sets}
    except (AudioError, FeatureError) as exc:
        return _Outcome(job.position, error=_reason(exc))
    return _Outcome(job.position, duration_s=audio.duration_s, values=values)


def _reason(exc: AudioError | FeatureError) -> str:
    text = str(exc)
    prefix = f"{exc.path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _raw_table(manifest: pd.DataFrame, clips: dict[int, _Clip], sets: tuple[str, ...]) -> pd.DataFrame:
    """Manifest columns, ``audio_sha256``, ``duration_s`` and the raw features of ``clips``."""
    positions = sorted(clips)
    base = manifest.iloc[positions].reset_index(drop=True)
    base = base.drop(columns=[c for c in base.columns if c in ADDED_COLUMNS or is_feature_column(c)])
    base["audio_sha256"] = [clips[p].sha256 for p in positions]
    base["duration_s"] = [next(iter(clips[p].entries.values())).duration_s for p in positions]
    columns = feature_columns(sets)
    values = np.full((len(positions), len(columns)), np.nan)
    for row, position in enumerate(positions):
        merged = {k: v for name in sets for k, v in clips[position].entries[name].values.items()}
        values[row] = [merged.get(column, np.nan) for column in columns]
    # One float block: building ~1,000 columns from dicts costs pandas ~20 ms per call.
    return pd.concat([base, pd.DataFrame(values, columns=columns)], axis=1)
