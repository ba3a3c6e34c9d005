"""Read what the review app shows from a run directory: decisions, manifest, rulebook; and calls."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from vietser.data.audio import AUDIO_SUFFIXES
from vietser.decision import Decision
from vietser.errors import ConfigError, ManifestError
from vietser.review.calls import CallRecord, read_calls
from vietser.rules.rulebook import Rulebook, load_rulebook
from vietser.run.dir import MANIFEST_FILE, RunDir


@dataclass(frozen=True)
class RunData:
    """Everything the review app reads from one run directory (loaded once)."""

    run_dir: Path
    decisions: dict[str, Decision]
    audio_paths: dict[str, Path]
    transcripts: dict[str, str]
    manifest: pd.DataFrame | None
    manifest_clip_ids: list[str | None]
    calls: dict[str, CallRecord] = field(default_factory=dict)


def load_run(run_dir: str | Path, calls: Sequence[Path] = ()) -> RunData:
    """Load decisions.jsonl (required) and manifest.csv (optional) of a run, and the segment decisions of
    ``calls`` (outputs of ``vietser predict --segments``), which join the run's decisions.

    Raises:
        ConfigError: the folder or its decisions.jsonl is missing or invalid, a calls file is unusable
            (:func:`~vietser.review.calls.read_calls`), or a segment has the id of one of the run's clips.
        ManifestError: manifest.csv exists but has no ``path`` column.
    """
    run_dir = Path(run_dir).resolve()
    decisions = {decision.clip_id: decision for decision in RunDir(run_dir).read_decisions()}
    call_data = read_calls(calls)
    clashing = sorted(set(call_data.decisions) & set(decisions))
    if clashing:
        raise ConfigError(f"segment ids {clashing[:3]} are also clip ids of the run; rename those calls' files")
    manifest = read_manifest(run_dir / MANIFEST_FILE)
    manifest_paths = _manifest_paths(manifest, run_dir)
    row_ids = _match_rows(manifest, manifest_paths, decisions, run_dir)
    audio_paths = _audio_paths(decisions, manifest_paths, row_ids, run_dir)
    transcripts: dict[str, str] = {}
    if manifest is not None and "transcript" in manifest.columns:
        for clip_id, text in zip(row_ids, manifest["transcript"]):
            if clip_id is not None and text:
                transcripts[clip_id] = text
    return RunData(run_dir, decisions | call_data.decisions, audio_paths, transcripts, manifest, row_ids, call_data.calls)


def read_manifest(path: Path) -> pd.DataFrame | None:
    """The run's manifest as strings (empty cells stay empty), or None if the run has none."""
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "path" not in frame.columns:
        raise ManifestError(f"{path} has no 'path' column; columns found: {', '.join(frame.columns)}.")
    return frame


def _manifest_paths(manifest: pd.DataFrame | None, run_dir: Path) -> list[Path]:
    if manifest is None:
        return []
    return [_resolve(value, run_dir) for value in manifest["path"]]


def _resolve(value: str, run_dir: Path) -> Path:
    path = Path(value)
    return path if path.is_absolute() else (run_dir / path).resolve()


def _match_rows(
    manifest: pd.DataFrame | None, manifest_paths: list[Path], decisions: dict[str, Decision], run_dir: Path
) -> list[str | None]:
    """The decision clip id of each manifest row: by path as written, else by resolved audio path."""
    if manifest is None:
        return []
    by_path = {_resolve(d.path, run_dir): d.clip_id for d in decisions.values() if d.path}
    return [
        written if written in decisions else by_path.get(path)
        for written, path in zip(manifest["path"], manifest_paths)
    ]


def _audio_paths(
    decisions: dict[str, Decision], manifest_paths: list[Path], row_ids: list[str | None], run_dir: Path
) -> dict[str, Path]:
    """Audio file of each clip: the decision's own path, else its manifest row's path."""
    from_manifest = {clip_id: path for clip_id, path in zip(row_ids, manifest_paths) if clip_id is not None}
    paths: dict[str, Path] = {}
    for clip_id, decision in decisions.items():
        path = _resolve(decision.path, run_dir) if decision.path else from_manifest.get(clip_id)
        if path is not None and path.suffix.lower() in AUDIO_SUFFIXES:
            paths[clip_id] = path
    return paths


def read_rulebook(path: Path) -> Rulebook | None:
    """The run's validated rulebook, or None when the run has none.

    Raises:
        RulebookError: the file is not a valid rulebook (names rule and field).
    """
    return load_rulebook(path) if path.is_file() else None
