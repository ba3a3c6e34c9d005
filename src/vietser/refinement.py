"""Refinement of a run's rulebook on its dev split: error analysis, refine rounds, rollback.

Only dev rows are loaded into the DevSet; the test split is read later, once,
by `evaluate_run`, which reports the final rulebook on test.
"""

from __future__ import annotations

from pathlib import Path

from vietser import rundir
from vietser.acoustic import load_model
from vietser.config import read_run_config
from vietser.experiment import split_view
from vietser.features.extract import read_features
from vietser.integrity import DECIDING_FILES, update_checksums, verify_checksums
from vietser.llm.client import LLMConfig
from vietser.refine import (
    ErrorAnalysis,
    LLMProposer,
    PersonProposer,
    RefineConfig,
    RefinementResult,
    RulebookHistory,
    SearchProposer,
    analyse_errors,
    refine,
)
from vietser.refine.devset import DevSet
from vietser.rules.rulebook import Rulebook, load_rulebook, save_rulebook
from vietser.routing import load_router
from vietser.pipeline import out_of_domain

ANALYSIS_FILE = "analysis.json"
ANALYSIS_MARKDOWN = "analysis.md"
REVIEWS_FILE = "reviews.sqlite"


def load_dev_set(run_dir: Path) -> DevSet:
    """The dev split of an evaluated run: evidence, acoustic probabilities and the routes of its router."""
    rundir.require_run_dir(run_dir, rundir.FEATURES_FILE, rundir.PROFILES_FILE, "routing.json")
    config = read_run_config(run_dir)
    features = read_features(run_dir / rundir.FEATURES_FILE)
    view = split_view(load_model(run_dir), rundir.read_profiles(run_dir), features[features["split"] == "dev"], config)
    routes = load_router(run_dir).route(view.probabilities, out_of_domain(view.frame))
    return DevSet.from_frame(view.frame, view.probabilities, view.evidence, routes)


def analyse_run(run_dir: Path) -> ErrorAnalysis:
    """Error analysis of the run's current rulebook on dev; written as analysis.json and analysis.md."""
    config = read_run_config(run_dir)
    rulebook = load_rulebook(run_dir / rundir.RULEBOOK_FILE)
    analysis = analyse_errors(load_dev_set(run_dir), rulebook, prior_weight=config.rule_prior_weight)
    (run_dir / ANALYSIS_FILE).write_text(analysis.model_dump_json(indent=2), encoding="utf-8")
    (run_dir / ANALYSIS_MARKDOWN).write_text(analysis.to_markdown(), encoding="utf-8")
    return analysis


def refine_run(
    run_dir: Path,
    rounds: int = 3,
    *,
    llm: LLMConfig | None = None,
    edits_file: Path | None = None,
) -> RefinementResult:
    """Refine the run's rulebook on dev; every version goes to rulebooks/, the result becomes rulebook.yaml.

    Proposers: the automatic search always; the LLM when configured; a person's
    edits from ``edits_file`` and from the review app's rule proposals when present.

    Raises:
        TamperedRunError: a file the run decides with changed after vietser wrote it (refining would
            record the result as vietser's own).
    """
    verify_checksums(run_dir, DECIDING_FILES)
    config = read_run_config(run_dir)
    proposers: list = [SearchProposer()]
    if llm is not None:
        proposers.append(LLMProposer(llm))
    if edits_file is not None:
        proposers.append(PersonProposer.from_file(edits_file))
    if (run_dir / REVIEWS_FILE).is_file():
        proposers.append(PersonProposer.from_review_store(run_dir / REVIEWS_FILE))
    history = RulebookHistory(run_dir)
    result = refine(
        load_dev_set(run_dir),
        load_rulebook(run_dir / rundir.RULEBOOK_FILE),
        rounds=rounds,
        proposers=proposers,
        history=history,
        config=RefineConfig(prior_weight=config.rule_prior_weight),
    )
    for proposer in proposers:
        if isinstance(proposer, LLMProposer):
            proposer.close()
    save_rulebook(result.final_rulebook, run_dir / rundir.RULEBOOK_FILE)
    update_checksums(run_dir, [rundir.RULEBOOK_FILE])
    (run_dir / rundir.REFINEMENT_FILE).write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


def rollback_run(run_dir: Path, version: int) -> Rulebook:
    """Make an earlier rulebook version the run's current one (recorded as a new version)."""
    rulebook = RulebookHistory(run_dir).rollback(version)
    save_rulebook(rulebook, run_dir / rundir.RULEBOOK_FILE)
    update_checksums(run_dir, [rundir.RULEBOOK_FILE])
    return rulebook
