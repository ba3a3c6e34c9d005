"""The files of a run directory: every result can be traced to what made it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from vietser.decision import Decision
from vietser.errors import ConfigError
from vietser.evidence import ClassProfiles
from vietser.refine import RefinementResult

FEATURES_FILE = "features.parquet"
MANIFEST_FILE = "manifest.csv"
PROFILES_FILE = "class_profiles.json"
RULEBOOK_FILE = "rulebook.yaml"
RULE_FIT_FILE = "rules_fit.md"
DECISIONS_FILE = "decisions.jsonl"
SUMMARY_FILE = "summary.json"
REFINEMENT_FILE = "refinement.json"
SKIPPED_FILE = "skipped.csv"
FINAL_MODEL_DIR = "final-model"
TRANSFER_DIR = "transfer"  # vietser evaluate --on: one folder per other corpus
ADAPTATION_FILE = "adaptation.json"  # vietser adapt: what an adapted run learned from
CHECKSUMS_FILE = "checksums.json"
MANIFEST_COLUMNS = ("path", "label", "speaker", "split", "transcript")


def require_run_dir(run_dir: Path, *files: str) -> Path:
    """The run directory, checked to hold ``files``.

    Raises:
        ConfigError: the folder or one of the files is missing.
    """
    missing = [name for name in files if not (run_dir / name).exists()]
    if not run_dir.is_dir() or missing:
        what = "folder" if not run_dir.is_dir() else ", ".join(missing)
        raise ConfigError(f"{run_dir} is not a complete run directory (missing {what}); create it with `vietser train`")
    return run_dir


def write_decisions(decisions: Iterable[Decision], path: Path) -> Path:
    """JSON Lines, one Decision per line, written atomically."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for decision in decisions:
            handle.write(decision.model_dump_json() + "\n")
    temporary.replace(path)
    return path


def read_decisions(path: Path) -> list[Decision]:
    return [Decision.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_profiles(profiles: ClassProfiles, run_dir: Path) -> None:
    (run_dir / PROFILES_FILE).write_text(profiles.model_dump_json(indent=2), encoding="utf-8")


def read_profiles(run_dir: Path) -> ClassProfiles:
    return ClassProfiles.model_validate_json((run_dir / PROFILES_FILE).read_text(encoding="utf-8"))


def write_run_manifest(features: pd.DataFrame, run_dir: Path) -> Path:
    """The clips of the run as a manifest (absolute paths, annotator columns kept) for review and export."""
    columns = [c for c in MANIFEST_COLUMNS if c in features.columns]
    columns += [c for c in features.columns if str(c).startswith("annotator_")]
    path = run_dir / MANIFEST_FILE
    features[columns].to_csv(path, index=False)
    return path


def write_summary(summary: dict, run_dir: Path) -> Path:
    path = run_dir / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_refinement(run_dir: Path) -> RefinementResult | None:
    """The last `vietser refine` result of the run, if any."""
    path = run_dir / REFINEMENT_FILE
    if not path.is_file():
        return None
    return RefinementResult.model_validate_json(path.read_text(encoding="utf-8"))


def write_skipped(skipped: Iterable[object], run_dir: Path) -> Path:
    """The clips feature extraction skipped (clip_id, path, reason), so a run's summary can count them."""
    rows = [{"clip_id": s.clip_id, "path": s.path, "reason": s.reason} for s in skipped]  # type: ignore[attr-defined]
    path = run_dir / SKIPPED_FILE
    pd.DataFrame(rows, columns=["clip_id", "path", "reason"]).to_csv(path, index=False)
    return path


def count_skipped(run_dir: Path) -> int:
    path = run_dir / SKIPPED_FILE
    return len(pd.read_csv(path)) if path.is_file() else 0


def final_model_dir(run_dir: Path) -> Path:
    """Where the model used for test decisions and predict lives: the train+dev refit when there is one."""
    refit = run_dir / FINAL_MODEL_DIR
    return refit if (refit / PROFILES_FILE).is_file() else run_dir
