"""SHA-256 checksums of the run-directory files that decide what a run predicts.

Whenever vietser writes one of these files it records its hash in
``checksums.json``; predict, evaluate and refine check them before reading::

    config.json                           vietser train
    rulebook.yaml                         vietser train, vietser refine, vietser rules rollback
    routing.json                          vietser evaluate
    model.json, class_profiles.json       vietser train (and those in final-model/)

(``model.json`` holds the hash of ``model.skops``.) A file edited, replaced or
copied in by hand is refused with :class:`~vietser.errors.TamperedRunError`.
The hashes show that vietser wrote the files; they are no signature, since
whoever can write the directory can rewrite ``checksums.json`` too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from vietser.errors import TamperedRunError
from vietser.run.dir import (
    CHECKSUMS_FILE,
    CONFIG_FILE,
    FINAL_MODEL_DIR,
    PROFILES_FILE,
    ROUTER_FILE,
    RULEBOOK_FILE,
    SIDECAR_FILE,
)

FORMAT_VERSION = 1
_REWRITTEN_BY = {
    RULEBOOK_FILE: "`vietser train`, `vietser refine` or `vietser rules rollback`",
    ROUTER_FILE: "`vietser evaluate`",
}
_REMAKE = "Re-run `vietser train` and `vietser evaluate` (or `vietser run`) to remake the run"


class Checksums(BaseModel):
    """``checksums.json``: the SHA-256 of each trusted file, by its path inside the run directory."""

    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    sha256: dict[str, str]


_MODEL_FILES = (SIDECAR_FILE, PROFILES_FILE)
# What `vietser train` writes; final-model/ only with refit_on_dev.
TRAINED_FILES = (
    CONFIG_FILE,
    RULEBOOK_FILE,
    *_MODEL_FILES,
    *(f"{FINAL_MODEL_DIR}/{name}" for name in _MODEL_FILES),
)
# What predict and refine decide with.
DECIDING_FILES = (*TRAINED_FILES, ROUTER_FILE)


def record_training(run_dir: Path) -> None:
    """Record the files `vietser train` just wrote as the run's only trusted ones (older records are dropped)."""
    written = [name for name in TRAINED_FILES if (run_dir / name).is_file()]
    _write(run_dir, Checksums(sha256=_hashes(run_dir, written)))


def update_checksums(run_dir: Path, names: Iterable[str]) -> None:
    """Record the new content of ``names``, just rewritten by vietser."""
    checksums = _read(run_dir)
    checksums.sha256.update(_hashes(run_dir, names))
    _write(run_dir, checksums)


def verify_checksums(run_dir: Path, names: Iterable[str]) -> None:
    """Check that each of ``names`` that the run has (on disk or on record) is as vietser last wrote it.

    Raises:
        TamperedRunError: a file differs from its recorded SHA-256, is present but was never recorded,
            is recorded but missing, or the run has no readable checksums.json.
    """
    recorded = _read(run_dir).sha256
    for name in names:
        path = run_dir / name
        if name not in recorded and not path.is_file():
            continue
        remedy = f"Re-run {_REWRITTEN_BY.get(name, '`vietser train`')} to rewrite it"
        if name not in recorded:
            raise TamperedRunError(
                f"{path} was not written by vietser for this run ({CHECKSUMS_FILE} has no record of it). {remedy}"
            )
        if not path.is_file():
            raise TamperedRunError(f"{path} is missing. {remedy}")
        if _sha256(path) != recorded[name]:
            raise TamperedRunError(
                f"{path} changed after vietser wrote it (its SHA-256 is not the one in {CHECKSUMS_FILE}); "
                f"it was not used. {remedy}, or restore the original file"
            )


def _hashes(run_dir: Path, names: Iterable[str]) -> dict[str, str]:
    return {name: _sha256(run_dir / name) for name in names}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(run_dir: Path) -> Checksums:
    path = run_dir / CHECKSUMS_FILE
    if not path.is_file():
        raise TamperedRunError(
            f"{run_dir} has no {CHECKSUMS_FILE}, so its files cannot be checked (it was made before vietser "
            f"recorded checksums, or the file was removed). {_REMAKE}"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        version = data.get("format_version") if isinstance(data, dict) else None
        if version != FORMAT_VERSION:
            raise TamperedRunError(
                f"{path} is checksums format {version}; this vietser reads format {FORMAT_VERSION}. {_REMAKE}"
            )
        return Checksums.model_validate(data)
    except (json.JSONDecodeError, ValidationError) as exc:
        raise TamperedRunError(f"{path} is not a valid checksums file ({exc}). {_REMAKE}") from exc


def _write(run_dir: Path, checksums: Checksums) -> None:
    path = run_dir / CHECKSUMS_FILE
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(checksums.model_dump_json(indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
