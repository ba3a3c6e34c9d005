"""Streamed feature extraction: any number of clips in bounded memory, resumable after a kill.

:func:`extract_to_parquet` writes the same features table as
:func:`vietser.features.extract.extract_features` followed by
:func:`~vietser.features.extract.write_features`, without ever holding it:

1. The manifest is cut into chunks of ``chunk_size`` rows. Each chunk's raw
   features (per-clip cache first, then the workers) are written to
   ``<output>.parts/part-NNNNN.parquet``; the part's schema metadata lists
   the chunk's skipped clips and a fingerprint of its rows and files. Each
   chunk's rows also update running per-speaker statistics.
2. Every part is read back in turn, z-scored against those statistics and
   appended to the output as one row group. The finished file replaces
   ``output`` in one step; then the parts are deleted.

Memory holds one chunk of rows, the statistics (speakers x feature
columns) and the manifest itself, never the whole table. Parts and cache
entries are written atomically (temporary file, then ``os.replace``), so a
run killed at any point leaves only complete files: a rerun reuses every
part whose fingerprint still matches (same rows, same files, same feature
sets and version), recomputes a changed one, takes the clips finished in an
interrupted chunk from the cache, and produces each manifest row exactly
once. Two runs must not write the same ``output`` at the same time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vietser.data.audio import SAMPLE_RATE
from vietser.errors import ConfigError
from vietser.features.cache import FEATURE_VERSION, FeatureCache, default_cache_dir
from vietser.features.catalog import DEFAULT_SETS, Z_PREFIX, FeatureSetName
from vietser.features.extract import features_metadata
from vietser.features.normalize import CorpusStats, spread_names
from vietser.features.raw import (
    ADDED_COLUMNS,
    Backend,
    Progress,
    SkippedClip,
    Workers,
    check_request,
    extract_raw,
    feature_columns,
    is_feature_column,
)
from vietser.features.speaker_stats import SpeakerMoments, check_normalization

_PART_KEY = b"vietser.part"


@dataclass
class StreamResult:
    """Where the features table went and how it was made.

    ``computed`` and ``cached`` count the clips of chunks processed in this
    run; ``resumed`` counts the rows and skipped clips taken from parts an
    earlier, interrupted run had finished. ``skipped`` covers all chunks.
    """

    output: Path
    rows: int
    skipped: list[SkippedClip]
    computed: int
    cached: int
    resumed: int
    corpus_stats: CorpusStats


@dataclass(frozen=True)
class _Part:
    """One chunk's raw rows and how they were obtained."""

    frame: pd.DataFrame
    skipped: list[SkippedClip]
    computed: int = 0
    cached: int = 0
    resumed: int = 0


@dataclass
class _Tally:
    """The account of all chunks so far (their rows are not kept)."""

    skipped: list[SkippedClip] = field(default_factory=list)
    computed: int = 0
    cached: int = 0
    resumed: int = 0

    def add(self, part: _Part) -> None:
        self.skipped.extend(part.skipped)
        self.computed += part.computed
        self.cached += part.cached
        self.resumed += part.resumed


def parts_dir(output: Path) -> Path:
    """The folder holding the finished chunks of an extraction into ``output``."""
    return output.with_name(output.name + ".parts")


def extract_to_parquet(
    manifest: pd.DataFrame,
    output: str | Path,
    *,
    chunk_size: int = 500,
    sets: tuple[FeatureSetName, ...] = DEFAULT_SETS,
    jobs: int = 1,
    backend: Backend = "loky",
    scheduler: str | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    min_clips_per_speaker: int = 5,
    fallback: CorpusStats | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> StreamResult:
    """Extract ``sets`` for every clip of ``manifest`` into the parquet features table ``output``.

    Arguments as for :func:`~vietser.features.extract.extract_features`;
    ``chunk_size`` is the number of manifest rows held (and sent to the
    workers) at a time. Rerun with the same arguments after an interruption
    to resume.

    Raises:
        ConfigError: unknown feature set or backend, ``jobs`` or ``chunk_size``
            below 1, ``min_clips_per_speaker`` below 2, a ``fallback`` lacking
            columns, or Dask missing.
        ManifestError: the manifest lacks ``clip_id`` or ``path``.
    """
    sets = check_request(manifest, sets, backend, jobs)
    if chunk_size < 1:
        raise ConfigError(f"chunk_size is {chunk_size}; use 1 or more clips per chunk")
    columns = feature_columns(sets)
    check_normalization(columns, min_clips_per_speaker, fallback)
    output = Path(output)
    folder = parts_dir(output)
    folder.mkdir(parents=True, exist_ok=True)
    n_chunks = -(-len(manifest) // chunk_size)
    _remove_leftovers(folder, n_chunks)
    schema = _raw_schema(manifest, columns)
    cache = FeatureCache(cache_dir if cache_dir is not None else default_cache_dir())
    moments = SpeakerMoments(columns)
    tally = _Tally()
    with Workers(backend, scheduler, jobs) as workers:
        for index in range(n_chunks):
            chunk = manifest.iloc[index * chunk_size : (index + 1) * chunk_size]
            report = None if progress is None else _offset(progress, index * chunk_size, len(manifest))
            part = _resumed_part(folder, index, chunk, sets, sample_rate)
            if part is None:
                part = _new_part(folder, index, chunk, sets, cache, workers, sample_rate, schema, report)
            elif report is not None:
                report(len(chunk), len(chunk))
            moments.add(part.frame)
            tally.add(part)
    rows = _write_table(output, folder, n_chunks, moments, schema, min_clips_per_speaker, fallback)
    shutil.rmtree(folder)
    return StreamResult(
        output=output,
        rows=rows,
        skipped=tally.skipped,
        computed=tally.computed,
        cached=tally.cached,
        resumed=tally.resumed,
        corpus_stats=moments.corpus(),
    )


def _offset(progress: Progress, before: int, total: int) -> Progress:
    """Report a chunk's ``(done, size)`` as the corpus' ``(before + done, total)``."""
    return lambda done, _size: progress(before + done, total)


def _part_path(folder: Path, index: int) -> Path:
    return folder / f"part-{index:05d}.parquet"


def _remove_leftovers(folder: Path, n_chunks: int) -> None:
    """Delete temporary files of a killed run, and parts beyond the manifest's chunks."""
    names = {_part_path(folder, index).name for index in range(n_chunks)}
    for path in folder.iterdir():
        if path.is_file() and path.name not in names:
            path.unlink()


def _fingerprint(chunk: pd.DataFrame, sets: tuple[str, ...], sample_rate: int) -> str:
    """What a chunk's features depend on: its rows, its files' size and mtime, sets, version, rate."""
    digest = hashlib.sha256()
    digest.update(json.dumps([FEATURE_VERSION, list(sets), sample_rate, [str(c) for c in chunk.columns]]).encode())
    digest.update(pd.util.hash_pandas_object(chunk, index=False).to_numpy().tobytes())
    for path in chunk["path"]:
        try:
            status = os.stat(path)
            digest.update(f"{status.st_size}:{status.st_mtime_ns};".encode())
        except OSError:
            digest.update(b"missing;")
    return digest.hexdigest()


def _resumed_part(
    folder: Path, index: int, chunk: pd.DataFrame, sets: tuple[str, ...], sample_rate: int
) -> _Part | None:
    """The chunk's part from an earlier run, or None when absent, unreadable or made from other inputs."""
    path = _part_path(folder, index)
    try:
        table = pq.read_table(path)
        record = json.loads(table.schema.metadata[_PART_KEY])
    except (OSError, KeyError, TypeError, ValueError, pa.ArrowException):
        return None
    if record.get("fingerprint") != _fingerprint(chunk, sets, sample_rate):
        return None
    skipped = [SkippedClip(*clip) for clip in record["skipped"]]
    return _Part(table.to_pandas(), skipped, resumed=table.num_rows + len(skipped))


def _new_part(
    folder: Path,
    index: int,
    chunk: pd.DataFrame,
    sets: tuple[str, ...],
    cache: FeatureCache,
    workers: Workers,
    sample_rate: int,
    schema: pa.Schema,
    progress: Progress | None,
) -> _Part:
    """Extract a chunk and write its part atomically."""
    batch = extract_raw(chunk, sets, cache, workers, sample_rate, progress)
    record = {
        "fingerprint": _fingerprint(chunk, sets, sample_rate),
        "skipped": [[clip.clip_id, clip.path, clip.reason] for clip in batch.skipped],
    }
    table = pa.Table.from_pandas(batch.frame, schema=schema, preserve_index=False)
    target = _part_path(folder, index)
    temporary = folder / f".{target.name}.tmp"
    pq.write_table(table.replace_schema_metadata({_PART_KEY: json.dumps(record).encode()}), temporary)
    os.replace(temporary, target)
    return _Part(batch.frame, batch.skipped, computed=batch.computed, cached=batch.cached)


def _raw_schema(manifest: pd.DataFrame, columns: list[str]) -> pa.Schema:
    """One schema for every part: manifest column types inferred over the whole manifest, then floats."""
    base = manifest.drop(columns=[c for c in manifest.columns if c in ADDED_COLUMNS or is_feature_column(c)])
    fields = list(pa.Schema.from_pandas(base, preserve_index=False))
    fields += [pa.field("audio_sha256", pa.large_string()), pa.field("duration_s", pa.float64())]
    return pa.schema(fields + [pa.field(column, pa.float64()) for column in columns])


def _write_table(
    output: Path,
    folder: Path,
    n_chunks: int,
    moments: SpeakerMoments,
    raw_schema: pa.Schema,
    min_clips: int,
    fallback: CorpusStats | None,
) -> int:
    """Z-score every part and append it to ``output`` as a row group; return the number of rows."""
    z_fields = [pa.field(Z_PREFIX + column, pa.float64()) for column in moments.columns]
    z_fields += [pa.field(name, pa.float64()) for name in spread_names(moments.columns)]
    schema = pa.schema(list(raw_schema) + z_fields, metadata=features_metadata(raw_schema.names))
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.tmp")
    rows = 0
    with pq.ParquetWriter(temporary, schema) as writer:
        for index in range(n_chunks):
            raw = pq.read_table(_part_path(folder, index)).to_pandas()
            frame = pd.concat([raw, moments.zscores(raw, min_clips, fallback)], axis=1)
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
            rows += len(frame)
    os.replace(temporary, output)
    return rows
