"""The run directory: the name of every file vietser writes there, and their typed reads and writes.

Layout (``docs/design.md`` explains who writes what)::

    config.json  checksums.json  features.parquet  extracted-features.parquet  manifest.csv  skipped.csv
    model.skops  model.json  class_profiles.json   final-model/ (the same three, refit on train + dev)
    rulebook.yaml  rules_fit.md  rulebooks/v0001.yaml …  rulebooks/changelog.jsonl
    routing.json  decisions.jsonl  summary.json  report.md  report.html  figures/
    analysis.json  analysis.md  refinement.json  reviews.sqlite
    transfer/<corpus>/   adaptation.json

This module is a leaf: the modules that own a file's format (the model, the router, the rulebook
history, the review store) take the file's name from here, and :class:`RunDir` imports those
formats only when a read or write needs them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vietser.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from vietser.acoustic.inference import AcousticInference
    from vietser.acoustic.train import AcousticModel
    from vietser.config import RunConfig
    from vietser.decision import Decision
    from vietser.evidence import ClassProfiles
    from vietser.refine.analysis import ErrorAnalysis
    from vietser.refine.loop import RefinementResult
    from vietser.routing import Router
    from vietser.rules.rulebook import Rulebook

CONFIG_FILE = "config.json"
CHECKSUMS_FILE = "checksums.json"
FEATURES_FILE = "features.parquet"
EXTRACTED_FEATURES_FILE = "extracted-features.parquet"  # vietser run: the manifest's features before training
MANIFEST_FILE = "manifest.csv"
SKIPPED_FILE = "skipped.csv"
MODEL_FILE = "model.skops"
COMPILED_MODEL_FILE = "model.npz"  # the estimator as arrays, for prediction without scikit-learn
BASELINE_FREE_MODEL_DIR = "baseline-free"  # inside a model folder: the model for clips without a speaker baseline
SIDECAR_FILE = "model.json"
PROFILES_FILE = "class_profiles.json"
FINAL_MODEL_DIR = "final-model"
RULEBOOK_FILE = "rulebook.yaml"
RULE_FIT_FILE = "rules_fit.md"
RULEBOOKS_DIR = "rulebooks"  # every rulebook version refinement made
CHANGELOG_FILE = "changelog.jsonl"  # inside rulebooks/
ROUTER_FILE = "routing.json"
DECISIONS_FILE = "decisions.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_MARKDOWN = "report.md"
REPORT_HTML = "report.html"
FIGURES_DIR = "figures"
ANALYSIS_FILE = "analysis.json"
ANALYSIS_MARKDOWN = "analysis.md"
REFINEMENT_FILE = "refinement.json"
REVIEWS_FILE = "reviews.sqlite"
TRANSFER_DIR = "transfer"  # vietser evaluate --on: one folder per other corpus
ADAPTATION_FILE = "adaptation.json"  # vietser adapt: what an adapted run learned from
MANIFEST_COLUMNS = ("path", "label", "speaker", "split", "transcript")


@dataclass(frozen=True)
class RunDir:
    """One run directory: where each of its files is, and how each is read and written."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def path(self, name: str) -> Path:
        return self.root / name

    def require(self, *names: str) -> RunDir:
        """This run, checked to hold ``names``.

        Raises:
            ConfigError: the folder or one of the files is missing.
        """
        missing = [name for name in names if not self.path(name).exists()]
        if not self.root.is_dir() or missing:
            what = "folder" if not self.root.is_dir() else ", ".join(missing)
            raise ConfigError(
                f"{self.root} is not a complete run directory (missing {what}); create it with `vietser train`"
            )
        return self

    @property
    def final_model(self) -> RunDir:
        """Where the model used for test decisions and predict lives: the train+dev refit when there is one."""
        refit = RunDir(self.root / FINAL_MODEL_DIR)
        return refit if refit.path(PROFILES_FILE).is_file() else self

    def transfer(self, name: str) -> Path:
        """The folder of ``vietser evaluate --on`` results for the corpus ``name``."""
        return self.root / TRANSFER_DIR / name

    def read_config(self) -> RunConfig:
        """The RunConfig the run was made with (for reasoning, :func:`~vietser.config.read_reasoning_config`)."""
        from vietser.config import read_run_config

        return read_run_config(self.root)

    def write_config(self, config: RunConfig) -> Path:
        from vietser.config import save_config

        return save_config(config, self.root)

    def read_features(self) -> pd.DataFrame:
        from vietser.features.extract import read_features

        return read_features(self.path(FEATURES_FILE))

    def write_features(self, features: pd.DataFrame) -> Path:
        from vietser.features.extract import write_features

        write_features(features, self.path(FEATURES_FILE))
        return self.path(FEATURES_FILE)

    def write_manifest(self, features: pd.DataFrame) -> Path:
        """The clips of the run as a manifest (absolute paths, annotator columns kept) for review and export."""
        from vietser.labels import annotator_columns

        columns = [c for c in MANIFEST_COLUMNS if c in features.columns] + annotator_columns(features)
        path = self.path(MANIFEST_FILE)
        features[columns].to_csv(path, index=False)
        return path

    def write_skipped(self, skipped: Iterable[Any]) -> Path:
        """The clips feature extraction skipped (clip_id, path, reason), so a run's summary can count them."""
        import pandas as pd

        rows = [{"clip_id": s.clip_id, "path": s.path, "reason": s.reason} for s in skipped]
        path = self.path(SKIPPED_FILE)
        pd.DataFrame(rows, columns=["clip_id", "path", "reason"]).to_csv(path, index=False)
        return path

    def count_skipped(self) -> int:
        import pandas as pd

        path = self.path(SKIPPED_FILE)
        return len(pd.read_csv(path)) if path.is_file() else 0

    def read_model(self) -> AcousticModel:
        from vietser.acoustic.persist import load_model

        return load_model(self.root)

    def read_deployed_model(self) -> AcousticInference:
        """The model as loaded to decide new audio: without scikit-learn where it compiled."""
        from vietser.acoustic.persist import load_deployed_model

        return load_deployed_model(self.root)

    def write_model(self, model: AcousticModel) -> Path:
        from vietser.acoustic.persist import save_model

        return save_model(model, self.root)

    def read_profiles(self) -> ClassProfiles:
        from vietser.evidence import ClassProfiles

        return ClassProfiles.model_validate_json(self.path(PROFILES_FILE).read_text(encoding="utf-8"))

    def write_profiles(self, profiles: ClassProfiles) -> Path:
        return _write_text(self.path(PROFILES_FILE), profiles.model_dump_json(indent=2))

    def read_rulebook(self) -> Rulebook:
        from vietser.rules.rulebook import load_rulebook

        return load_rulebook(self.path(RULEBOOK_FILE))

    def write_rulebook(self, rulebook: Rulebook) -> Path:
        from vietser.rules.rulebook import save_rulebook

        return save_rulebook(rulebook, self.path(RULEBOOK_FILE))

    def write_rule_fit(self, report: str) -> Path:
        return _write_text(self.path(RULE_FIT_FILE), report)

    def read_router(self) -> Router:
        from vietser.routing import load_router

        return load_router(self.root)

    def write_router(self, router: Router) -> Path:
        from vietser.routing import save_router

        return save_router(router, self.root)

    def read_decisions(self) -> list[Decision]:
        return read_decisions(self.path(DECISIONS_FILE))

    def write_decisions(self, decisions: Iterable[Decision]) -> Path:
        return write_decisions(decisions, self.path(DECISIONS_FILE))

    def write_summary(self, summary: dict) -> Path:
        return _write_text(self.path(SUMMARY_FILE), json.dumps(summary, indent=2, ensure_ascii=False) + "\n")

    def write_analysis(self, analysis: ErrorAnalysis) -> None:
        _write_text(self.path(ANALYSIS_FILE), analysis.model_dump_json(indent=2))
        _write_text(self.path(ANALYSIS_MARKDOWN), analysis.to_markdown())

    def read_refinement(self) -> RefinementResult | None:
        """The last `vietser refine` result of the run, if any."""
        from vietser.refine.loop import RefinementResult

        path = self.path(REFINEMENT_FILE)
        if not path.is_file():
            return None
        return RefinementResult.model_validate_json(path.read_text(encoding="utf-8"))

    def write_refinement(self, result: RefinementResult) -> Path:
        return _write_text(self.path(REFINEMENT_FILE), result.model_dump_json(indent=2))

    def write_adaptation(self, record: dict) -> Path:
        return _write_text(self.path(ADAPTATION_FILE), json.dumps(record, indent=2) + "\n")


def read_decisions(path: Path) -> list[Decision]:
    """Decisions from JSON Lines, in file order.

    Raises:
        ConfigError: the file is missing or a line is not a Decision (names the line).
    """
    from pydantic import ValidationError

    from vietser.decision import Decision

    if not path.is_file():
        raise ConfigError(f"{path} not found: decide the run's clips first with `vietser evaluate` or `vietser run`.")
    decisions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            decisions.append(Decision.model_validate_json(line))
        except ValidationError as exc:
            raise ConfigError(f"{path}, line {number}: not a Decision ({exc.errors()[0]['msg']}).") from exc
    return decisions


def write_decisions(decisions: Iterable[Decision], path: Path) -> Path:
    """JSON Lines, one Decision per line, written atomically (also for `vietser predict --output`)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for decision in decisions:
            handle.write(decision.model_dump_json() + "\n")
    temporary.replace(path)
    return path


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
