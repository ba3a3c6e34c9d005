"""Manifests: one row per clip with its audio path, label, speaker and split.

A manifest file is CSV or JSON Lines (chosen by suffix) with the columns
``path, label, speaker, split`` and optionally ``transcript``,
``annotator_<name>`` and ``corpus``. Relative paths resolve against the manifest's folder.
A manifest pooling several corpora names each row's corpus: speakers are then
normalised against their own corpus where they have no baseline of their own,
and a speaker id used by two corpora (``03`` of one corpus and ``03`` of
another are different people) becomes ``<corpus>/<speaker>``.
Labels are mapped onto calm / angry / panic by a label mapping that extends
:data:`~vietser.data.label_map.DEFAULT_LABEL_MAP`; a label mapped to ``None`` leaves its rows out.

Example (:func:`~vietser.data.splits.assign_speaker_splits` deals speakers out to splits)::

    frame = load_manifest("data/manifest.csv", label_map={"happy": None})
    write_manifest(assign_speaker_splits(frame, seed=1), "data/resplit.csv")
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vietser.data.label_map import LabelMapSpec, label_key, label_mapping
from vietser.errors import ManifestError
from vietser.features.normalize import CORPUS_COLUMN
from vietser.labels import CLASSES, SPLITS, annotator_columns

REQUIRED_COLUMNS: tuple[str, ...] = ("path", "label", "speaker", "split")
MAX_LISTED = 10

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


def speaker_id(value: str) -> str:
    """A speaker id as compared everywhere: NFC, without surrounding spaces.

    ``Hùng`` typed precomposed and with combining marks is one person; two
    spellings would let them sit in train and test at once.
    """
    return unicodedata.normalize("NFC", value.strip())


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    if len(items) > MAX_LISTED:
        shown += f" and {len(items) - MAX_LISTED} more"
    return shown


def _rows_with(frame: pd.DataFrame, mask: pd.Series, column: str) -> str:
    selected = frame.loc[mask]
    return _listing([f"row {row} ({value!r})" for row, value in zip(selected["_row"], selected[column])])


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in _JSONL_SUFFIXES:
        return "jsonl"
    raise ManifestError(f"{path}: unknown manifest format {suffix!r}; name the file .csv or .jsonl.")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError as exc:
        raise ManifestError(f"{path}: manifest is empty; it needs a header row and one row per clip.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot parse as UTF-8 CSV ({exc}).") from exc
    table.columns = [str(column).strip() for column in table.columns]
    table["_row"] = np.arange(1, len(table) + 1)
    return table


def _read_jsonl(path: Path) -> pd.DataFrame:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{path}: line {number} is not valid JSON ({exc.msg}).") from exc
        if not isinstance(record, dict):
            raise ManifestError(f"{path}: line {number} must be a JSON object with path, label, speaker, split.")
        cells = {str(key).strip(): "" if value is None else str(value) for key, value in record.items()}
        records.append({**cells, "_row": number})
    table = pd.DataFrame.from_records(records)
    return table.fillna("") if len(table) else table


def _read_table(path: Path, default_split: str | None = None) -> pd.DataFrame:
    reader = _read_csv if _format_of(path) == "csv" else _read_jsonl
    try:
        table = reader(path)
    except FileNotFoundError as exc:
        raise ManifestError(f"manifest file not found: {path}") from exc
    if table.empty:
        raise ManifestError(f"{path}: manifest has no rows; add one row per clip.")
    if default_split is not None and "split" not in table.columns:
        table["split"] = default_split
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        found = [column for column in table.columns if column != "_row"]
        raise ManifestError(
            f"{path}: missing required column(s) {', '.join(missing)}; "
            f"found {', '.join(found) or 'none'}. A manifest needs {', '.join(REQUIRED_COLUMNS)}"
            + (
                "; to train on one without split, `vietser run`, `train` and `features` deal its speakers out "
                "(--dev-fraction, --test-fraction), as does vietser.data.splits.load_training_manifest."
                if missing == ["split"]
                else "."
            )
        )
    return table


def has_split_column(path: str | Path) -> bool:
    """Whether a manifest file names each clip's split (without one,
    :func:`~vietser.data.splits.load_training_manifest` deals its speakers out).

    Raises:
        ManifestError: the file is missing or cannot be parsed.
    """
    manifest_path = Path(path)
    reader = _read_csv if _format_of(manifest_path) == "csv" else _read_jsonl
    try:
        return "split" in reader(manifest_path).columns
    except FileNotFoundError as exc:
        raise ManifestError(f"manifest file not found: {manifest_path}") from exc


def _map_labels(table: pd.DataFrame, mapping: Mapping[str, str | None]) -> tuple[pd.DataFrame, list[str]]:
    keys = table["label"].map(label_key)
    unknown = ~keys.isin(list(mapping))
    problems = []
    if unknown.any():
        problems.append(
            f"unknown label(s) in {_rows_with(table, unknown, 'label')}. Classes are {', '.join(CLASSES)}; "
            "map other labels with a label mapping, e.g. label_map={'happy': 'calm', 'sad': None} "
            "(CLI: --label-map happy=calm,sad=none), where None leaves those rows out."
        )
    targets = keys.map(lambda key: mapping.get(key, ""))
    kept = table.loc[targets.notna()].copy()
    kept["label"] = targets[targets.notna()]
    return kept, problems


def _map_annotators(table: pd.DataFrame, mapping: Mapping[str, str | None]) -> list[str]:
    problems = []
    for column in annotator_columns(table):
        keys = table[column].map(label_key)
        unknown = (keys != "") & ~keys.isin(list(mapping))
        if unknown.any():
            problems.append(
                f"column {column}: unknown vote(s) in {_rows_with(table, unknown, column)}; "
                "leave a cell empty for no vote or add the label to the label mapping."
            )
        table[column] = [mapping.get(key) if key else None for key in keys]
    return problems


def _check_cells(table: pd.DataFrame) -> list[str]:
    problems = []
    for column in ("path", "speaker"):
        empty = table[column].str.strip() == ""
        if empty.any():
            rows = _listing([str(row) for row in table.loc[empty, "_row"]])
            problems.append(f"empty {column} in row(s) {rows}; every clip needs one.")
    table["split"] = table["split"].str.strip().str.lower()
    unknown = ~table["split"].isin(SPLITS)
    if unknown.any():
        problems.append(f"unknown split value(s) in {_rows_with(table, unknown, 'split')}; use {', '.join(SPLITS)}.")
    return problems


def _qualify_shared_speakers(table: pd.DataFrame) -> list[str]:
    """Name every speaker id that two corpora use ``<corpus>/<speaker>``; returns the empty-corpus problems."""
    if CORPUS_COLUMN not in table.columns:
        return []
    table[CORPUS_COLUMN] = table[CORPUS_COLUMN].map(speaker_id)
    empty = table[CORPUS_COLUMN] == ""
    if empty.any():
        rows = _listing([str(row) for row in table.loc[empty, "_row"]])
        return [f"empty corpus in row(s) {rows}; name the corpus of every row, or drop the column for one corpus."]
    corpora = table.groupby("speaker")[CORPUS_COLUMN].nunique()
    shared = table["speaker"].isin(corpora.index[corpora > 1]) & (table["speaker"] != "")
    table.loc[shared, "speaker"] = table.loc[shared, CORPUS_COLUMN] + "/" + table.loc[shared, "speaker"]
    return []


def corpus_of_clips(frame: pd.DataFrame) -> dict[str, str]:
    """Clip id → corpus, for a frame with ``clip_id`` and ``corpus`` columns (empty without them)."""
    if CORPUS_COLUMN not in frame.columns or "clip_id" not in frame.columns:
        return {}
    return dict(zip(frame["clip_id"].astype(str), frame[CORPUS_COLUMN].astype(str)))


def _check_files(table: pd.DataFrame) -> list[str]:
    missing = (table["path"] != "") & ~table["path"].map(os.path.isfile)
    if not missing.any():
        return []
    return [
        f"audio file(s) not found for {_rows_with(table, missing, 'path')}; relative paths resolve "
        "against the manifest's folder (pass check_files=False to skip this check)."
    ]


def _file_identity(path: str) -> str:
    """The file a path reaches, past symbolic links and ``..``, in NFC."""
    return unicodedata.normalize("NFC", os.path.realpath(path))


def _same_file_rows(rows: pd.DataFrame, file: str, with_labels: bool) -> str:
    cells = [
        f"row {row} ({clip!r}, {label})" if with_labels else f"row {row} ({clip!r})"
        for row, clip, label in zip(rows["_row"], rows["clip_id"], rows["label"])
    ]
    return f"{' and '.join(cells)} are one file ({file})"


def _check_duplicates(table: pd.DataFrame) -> list[str]:
    """Rows reaching one audio file, whether spelled alike, through a symlink or with ``..``."""
    named = table[table["path"] != ""]
    files = named["path"].map(_file_identity)
    repeated = files.duplicated(keep=False)
    groups = list(named[repeated].groupby(files[repeated], sort=False))
    same = [_same_file_rows(rows, file, False) for file, rows in groups if rows["label"].nunique() == 1]
    conflicting = [_same_file_rows(rows, file, True) for file, rows in groups if rows["label"].nunique() > 1]
    problems = []
    if same:
        problems.append(f"duplicate clip(s): {_listing(same)}; list each clip once.")
    if conflicting:
        problems.append(
            f"one audio file under different labels: {_listing(conflicting)}; "
            "a recording has one label: keep the row with the right one and delete the other(s)."
        )
    return problems


def _check_speakers(table: pd.DataFrame) -> list[str]:
    known = table[table["split"].isin(SPLITS)]
    splits = known.groupby("speaker")["split"].unique()
    crossing = splits[splits.map(len) > 1]
    if crossing.empty:
        return []
    named = [f"{speaker!r} ({', '.join(sorted(values))})" for speaker, values in crossing.items()]
    return [
        f"speaker(s) in more than one split: {_listing(named)}. Each speaker's clips must share one split "
        "so evaluation is speaker-independent; fix the split column or reassign with assign_speaker_splits."
    ]


def _clip_id(raw: str) -> str:
    return unicodedata.normalize("NFC", Path(raw.strip()).as_posix()) if raw.strip() else ""


def _absolute(raw: str, folder: Path) -> str:
    path = Path(raw.strip()).expanduser()
    return _nfc_path(os.path.abspath(path if path.is_absolute() else folder / path))


def _nfc_path(path: str) -> str:
    """``path`` in NFC, unless only its spelling as written names a file.

    Most Linux file systems keep names as bytes: a file saved with combining
    diacritics opens only by that spelling.
    """
    nfc = unicodedata.normalize("NFC", path)
    if nfc != path and os.path.lexists(path) and not os.path.lexists(nfc):
        return path
    return nfc


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    extras = [c for c in table.columns if c not in (*REQUIRED_COLUMNS, "clip_id", "transcript", "_row")]
    annotators = [c for c in annotator_columns(table) if c in extras]
    others = [c for c in extras if c not in annotators]
    optional = ["transcript"] if "transcript" in table.columns else []
    columns = ["clip_id", *REQUIRED_COLUMNS, *optional, *annotators, *others]
    return table[columns].reset_index(drop=True)


def load_manifest(
    path: str | Path,
    label_map: LabelMapSpec | None = None,
    check_files: bool = True,
    default_split: str | None = None,
) -> pd.DataFrame:
    """Read and validate a manifest file.

    Args:
        path: a .csv or .jsonl manifest.
        label_map: extra or overriding entries for :data:`~vietser.data.label_map.DEFAULT_LABEL_MAP`
            in any form :func:`parse_label_map` accepts.
        check_files: also require every audio file to exist.
        default_split: the split of every row of a manifest without a ``split`` column
            (e.g. ``"test"`` for a corpus that is only scored on); without it the column is required.

    Returns:
        Columns ``clip_id, path, label, speaker, split``, then ``transcript``
        and ``annotator_*`` when present (missing vote = NA), then any other
        columns as text. ``path`` is absolute; ``clip_id`` is the path as written.
        Speaker ids, ``path`` and ``clip_id`` are in Unicode NFC (``path`` keeps
        another spelling only when just that one names a file).

    Raises:
        ManifestError: listing every problem found, with 1-based data row numbers;
            among them rows that reach one audio file (a symlink, ``a/../a.wav``),
            named with their labels when those differ.
    """
    manifest_path = Path(path)
    table = _read_table(manifest_path, default_split)
    mapping = label_mapping(label_map)
    table, problems = _map_labels(table, mapping)
    if table.empty and not problems:
        raise ManifestError(f"{manifest_path}: the label mapping leaves no rows; map at least one label to a class.")
    folder = Path(os.path.abspath(manifest_path.parent))
    table["speaker"] = table["speaker"].map(speaker_id)
    problems += _qualify_shared_speakers(table)
    table["clip_id"] = [_clip_id(raw) for raw in table["path"]]
    table["path"] = [_absolute(raw, folder) if raw.strip() else "" for raw in table["path"]]
    problems += _map_annotators(table, mapping)
    problems += _check_cells(table)
    problems += _check_duplicates(table)
    problems += _check_files(table) if check_files else []
    problems += _check_speakers(table)
    if problems:
        listed = "\n".join(f"- {problem}" for problem in problems)
        raise ManifestError(f"{manifest_path} cannot be used (rows count data rows from 1):\n{listed}")
    return _ordered(table)


def _relative_path(value: str, folder: Path) -> str:
    path = Path(value)
    if path.is_absolute() and path.is_relative_to(folder):
        return path.relative_to(folder).as_posix()
    return path.as_posix()


def write_manifest(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a manifest frame as CSV or JSONL (by suffix), paths relative to its folder where possible.

    ``clip_id`` is not written: :func:`load_manifest` derives it from ``path``.
    """
    out = Path(path)
    file_format = _format_of(out)
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise ManifestError(f"cannot write manifest {out}: frame lacks column(s) {', '.join(missing)}.")
    folder = Path(os.path.abspath(out.parent))
    table = frame.drop(columns=["clip_id"], errors="ignore").astype(object)
    table = table.where(table.notna(), None)
    table["path"] = [_relative_path(str(value), folder) for value in table["path"]]
    out.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "csv":
        table.to_csv(out, index=False, encoding="utf-8")
    else:
        lines = (json.dumps(record, ensure_ascii=False, default=str) for record in table.to_dict("records"))
        out.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return out
