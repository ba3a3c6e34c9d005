"""Corpus feature extraction: manifest in, features table out (parallel, cached, resumable).

The features table is the manifest's columns, ``audio_sha256``,
``duration_s``, the raw feature columns (``egemaps.*``, ``prosody.*``) and
their per-speaker ``z.`` counterparts. A clip whose audio cannot be used or
whose features cannot be computed is left out of the table and listed in
:attr:`ExtractionResult.skipped`; the run always continues.

Backends: ``"loky"`` runs ``jobs`` local worker processes (``jobs=1`` runs in
this process). ``"dask"`` sends clips to a Dask cluster through joblib: pass
the scheduler address (``"tcp://host:8786"``) as ``scheduler``, or leave it
None to start a local cluster of ``jobs`` single-threaded workers. Dask runs
on all the cluster's worker threads; its workers must see the audio files at
the manifest's paths. Results return to this process, which writes the
cache.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from joblib import Parallel, delayed, parallel_config

from vietser.data.audio import SAMPLE_RATE, Audio, file_sha256, load_audio
from vietser.errors import AudioError, ConfigError, FeatureError, ManifestError
from vietser.features.cache import FEATURE_VERSION, CachedFeatures, FeatureCache, default_cache_dir
from vietser.features.catalog import FEATURE_SETS, Z_PREFIX, FeatureSetName
from vietser.features.egemaps import egemaps_columns, extract_egemaps
from vietser.features.normalize import CorpusStats, normalize_by_speaker
from vietser.features.prosody import COLUMNS as PROSODY_COLUMNS
from vietser.features.prosody import extract_prosody

Backend = Literal["loky", "dask"]
Progress = Callable[[int, int], None]

_EXTRACTORS: dict[str, Callable[[Audio], dict[str, float]]] = {
    "egemaps": extract_egemaps,
    "prosody": extract_prosody,
}
_ADDED_COLUMNS = ("audio_sha256", "duration_s")
_METADATA_KEY = b"vietser.features"
_DASK_MISSING = "the dask backend needs dask.distributed: pip install 'vietser[dask]'"


@dataclass(frozen=True)
class SkippedClip:
    """A clip left out of the features table, and why."""

    clip_id: str
    path: str
    reason: str


@dataclass
class ExtractionResult:
    """The features table and an account of how it was made.

    ``corpus_stats`` are the raw feature statistics of ``frame``: store them
    with a model trained on it, to normalise new speakers later.
    """

    frame: pd.DataFrame
    skipped: list[SkippedClip]
    computed: int
    cached: int
    corpus_stats: CorpusStats


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
    return egemaps_columns() if feature_set == "egemaps" else PROSODY_COLUMNS


def extract_features(
    manifest: pd.DataFrame,
    *,
    sets: tuple[FeatureSetName, ...] = FEATURE_SETS,
    jobs: int = 1,
    backend: Backend = "loky",
    scheduler: str | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    min_clips_per_speaker: int = 5,
    fallback: CorpusStats | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> ExtractionResult:
    """Extract ``sets`` for every clip of ``manifest`` (columns ``clip_id``, ``path``, ``speaker``, ...).

    Args:
        progress: called as ``progress(done, total)`` whenever clips finish.
        fallback: corpus statistics for speakers with too few clips (default:
            this corpus' own).

    Raises:
        ConfigError: unknown feature set or backend, ``jobs`` below 1, or Dask missing.
        ManifestError: the manifest lacks ``clip_id`` or ``path``.
    """
    sets = _checked(manifest, sets, backend, jobs)
    cache = FeatureCache(cache_dir if cache_dir is not None else default_cache_dir())
    total = len(manifest)
    clips, pending, skipped = _plan(manifest, sets, cache, sample_rate)
    cached = len(clips) - len(pending)
    done = total - len(pending)
    if progress is not None:
        progress(done, total)
    computed = 0
    for outcome in _run(pending, jobs, backend, scheduler, sample_rate):
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
    frame, stats = _table(manifest, clips, sets, min_clips_per_speaker, fallback)
    return ExtractionResult(
        frame=frame,
        skipped=[skipped[position] for position in sorted(skipped)],
        computed=computed,
        cached=cached,
        corpus_stats=stats,
    )


def write_features(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a features table to parquet, keeping column order and recording sets and version."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sets = [name for name in FEATURE_SETS if any(column.startswith(name + ".") for column in frame.columns)]
    ours = json.dumps({"feature_sets": sets, "feature_version": FEATURE_VERSION}).encode()
    metadata = {**(table.schema.metadata or {}), _METADATA_KEY: ours}
    temporary = path.with_name(f".{path.name}.tmp")
    pq.write_table(table.replace_schema_metadata(metadata), temporary)
    temporary.replace(path)


def read_features(path: str | Path) -> pd.DataFrame:
    """Read a features table written by :func:`write_features`.

    Raises:
        ConfigError: the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"features table {path} not found; run feature extraction first")
    return pq.read_table(path).to_pandas()


def _checked(manifest: pd.DataFrame, sets: tuple[str, ...], backend: str, jobs: int) -> tuple[str, ...]:
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


def _run(
    jobs_to_run: list[_Job], jobs: int, backend: str, scheduler: str | None, sample_rate: int
) -> Iterator[_Outcome]:
    if not jobs_to_run:
        return
    with _backend(backend, scheduler, jobs):
        parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
        yield from parallel(delayed(_compute)(job, sample_rate) for job in jobs_to_run)


@contextlib.contextmanager
def _backend(backend: str, scheduler: str | None, jobs: int) -> Iterator[None]:
    if backend == "loky":
        with parallel_config(backend="loky"):
            yield
        return
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError(_DASK_MISSING) from exc
    client = Client(scheduler) if scheduler else Client(n_workers=jobs, threads_per_worker=1)
    with client, parallel_config(backend="dask"):
        yield


def _compute(job: _Job, sample_rate: int) -> _Outcome:
    """Load one clip and compute the missing feature sets (runs in a worker)."""
    try:
        audio = load_audio(job.path, sample_rate=sample_rate)
        values = {name: _EXTRACTORS[name](audio) for name in job.sets}
    except (AudioError, FeatureError) as exc:
        return _Outcome(job.position, error=_reason(exc))
    return _Outcome(job.position, duration_s=audio.duration_s, values=values)


def _reason(exc: AudioError | FeatureError) -> str:
    text = str(exc)
    prefix = f"{exc.path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _table(
    manifest: pd.DataFrame,
    clips: dict[int, _Clip],
    sets: tuple[str, ...],
    min_clips: int,
    fallback: CorpusStats | None,
) -> tuple[pd.DataFrame, CorpusStats]:
    positions = sorted(clips)
    feature_columns = [column for name in sets for column in feature_set_columns(name)]
    base = manifest.iloc[positions].reset_index(drop=True)
    base = base.drop(columns=[c for c in base.columns if c in _ADDED_COLUMNS or _is_feature(c)])
    base["audio_sha256"] = [clips[p].sha256 for p in positions]
    base["duration_s"] = [next(iter(clips[p].entries.values())).duration_s for p in positions]
    rows = [{k: v for name in sets for k, v in clips[p].entries[name].values.items()} for p in positions]
    features = pd.DataFrame(rows, columns=feature_columns, dtype="float64")
    raw = pd.concat([base, features], axis=1)
    z = normalize_by_speaker(raw, feature_columns, min_clips=min_clips, fallback=fallback)
    return pd.concat([raw, z], axis=1), CorpusStats.from_frame(raw, feature_columns)


def _is_feature(column: str) -> bool:
    return column.startswith(tuple(f"{prefix}{name}." for prefix in ("", Z_PREFIX) for name in FEATURE_SETS))
