"""Corpus feature extraction: manifest in, features table out (parallel, cached, resumable).

The features table is the manifest's columns, ``audio_sha256``,
``duration_s``, the raw feature columns (``egemaps.*``, ``prosody.*``) and
their per-speaker ``z.`` counterparts. A clip whose audio cannot be used or
whose features cannot be computed is left out of the table and listed in
:attr:`ExtractionResult.skipped`; the run always continues.

Backends: ``"loky"`` runs ``jobs`` local worker processes (``jobs=1`` runs in
this process); they exit within a second of this process' death, even by
SIGKILL. ``"dask"`` sends clips to a Dask cluster through joblib: pass
the scheduler address (``"tcp://host:8786"``) as ``scheduler``, or leave it
None to start a local cluster of ``jobs`` single-threaded workers. Dask runs
on all the cluster's worker threads; its workers must see the audio files at
the manifest's paths, and the cluster, not this process, ends them. Results
return to this process, which writes the cache.

:func:`extract_features` holds the table in memory;
:func:`vietser.features.stream.extract_to_parquet` writes the same table
chunk by chunk, in bounded memory, and resumes after a kill.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vietser.data.audio import SAMPLE_RATE
from vietser.errors import ConfigError
from vietser.features.cache import FEATURE_VERSION, FeatureCache, default_cache_dir
from vietser.features.catalog import DEFAULT_SETS, FEATURE_SETS, FeatureSetName
from vietser.features.normalize import CorpusStats, normalize_by_speaker
from vietser.features.raw import (
    Backend,
    Progress,
    SkippedClip,
    Workers,
    check_request,
    extract_raw,
    feature_columns,
    feature_set_columns,
)

__all__ = [
    "Backend",
    "ExtractionResult",
    "Progress",
    "SkippedClip",
    "extract_features",
    "feature_set_columns",
    "features_metadata",
    "read_features",
    "write_features",
]

_METADATA_KEY = b"vietser.features"


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

    @property
    def rows(self) -> int:
        """Clips in the table (as :attr:`StreamResult.rows <vietser.features.stream.StreamResult.rows>`)."""
        return len(self.frame)


def extract_features(
    manifest: pd.DataFrame,
    *,
    sets: tuple[FeatureSetName, ...] = DEFAULT_SETS,
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

    Holds the whole table in memory; for large corpora use
    :func:`vietser.features.stream.extract_to_parquet`, which gives the same
    table in bounded memory.

    Args:
        progress: called as ``progress(done, total)`` whenever clips finish.
        fallback: corpus statistics for speakers with too few clips (default:
            this corpus' own).

    Raises:
        ConfigError: unknown feature set or backend, ``jobs`` below 1, or Dask missing.
        ManifestError: the manifest lacks ``clip_id`` or ``path``.
    """
    sets = check_request(manifest, sets, backend, jobs)
    cache = FeatureCache(cache_dir if cache_dir is not None else default_cache_dir())
    with Workers(backend, scheduler, jobs) as workers:
        batch = extract_raw(manifest, sets, cache, workers, sample_rate, progress)
    columns = feature_columns(sets)
    z = normalize_by_speaker(batch.frame, columns, min_clips=min_clips_per_speaker, fallback=fallback)
    return ExtractionResult(
        frame=pd.concat([batch.frame, z], axis=1),
        skipped=batch.skipped,
        computed=batch.computed,
        cached=batch.cached,
        corpus_stats=CorpusStats.from_frame(batch.frame, columns),
    )


def features_metadata(columns: list[str]) -> dict[bytes, bytes]:
    """The parquet schema metadata that records a table's feature sets and :data:`FEATURE_VERSION`."""
    sets = [name for name in FEATURE_SETS if any(column.startswith(name + ".") for column in columns)]
    return {_METADATA_KEY: json.dumps({"feature_sets": sets, "feature_version": FEATURE_VERSION}).encode()}


def write_features(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a features table to parquet, keeping column order and recording sets and version."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), **features_metadata(list(frame.columns))}
    temporary = path.with_name(f".{path.name}.tmp")
    pq.write_table(table.replace_schema_metadata(metadata), temporary)
    temporary.replace(path)


def read_features(path: str | Path) -> pd.DataFrame:
    """Read a features table written by :func:`write_features` or :func:`~vietser.features.stream.extract_to_parquet`.

    Raises:
        ConfigError: the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"features table {path} not found; run feature extraction first")
    return pq.read_table(path).to_pandas()
