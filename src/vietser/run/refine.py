"""Refinement of a run's rulebook on its dev split: error analysis, refine rounds, rollback.

Only dev rows are loaded into the DevSet; the test split is read later, once,
by `evaluate_run`, which reports the final rulebook on test.
"""

from __future__ import annotations

from pathlib import Path

from vietser.config import read_reasoning_config
from vietser.integrity import DECIDING_FILES, update_checksums, verify_checksums
from vietser.llm.client import LLMConfig, LLMOverrides
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
from vietser.rules.rulebook import Rulebook
from vietser.pipeline import out_of_domain, split_view
from vietser.run.dir import FEATURES_FILE, PROFILES_FILE, REVIEWS_FILE, ROUTER_FILE, RULEBOOK_FILE, RunDir


def load_dev_set(run_dir: Path) -> DevSet:
    """The dev split of an evaluated run: evidence, acoustic probabilities and the routes of its router."""
    run = RunDir(run_dir).require(FEATURES_FILE, PROFILES_FILE, ROUTER_FILE)
    features = run.read_features()
    view = split_view(run.read_model(), run.read_profiles(), features[features["split"] == "dev"], run.read_config())
    routes = run.read_router().route(view.probabilities, out_of_domain(view.frame))
    return DevSet.from_frame(view.frame, view.probabilities, view.evidence, routes)


def analyse_run(run_dir: Path) -> ErrorAnalysis:
    """Error analysis of the run's current rulebook on dev; written as analysis.json and analysis.md."""
    run = RunDir(run_dir)
    config = run.read_config()
    analysis = analyse_errors(load_dev_set(run_dir), run.read_rulebook(), prior_weight=config.rule_prior_weight)
    run.write_analysis(analysis)
    return analysis


def refine_run(
    run_dir: Path,
    rounds: int = 3,
    *,
    llm: LLMConfig | LLMOverrides | None = None,
    edits_file: Path | None = None,
) -> RefinementResult:
    """Refine the run's rulebook on dev; every version goes to rulebooks/, the result becomes rulebook.yaml.

    ``llm`` replaces (an LLMConfig) or amends (LLMOverrides) the run's LLM settings, as in evaluate.
    Proposers: the automatic search always; the LLM when configured; a person's
    edits from ``edits_file`` and from the review app's rule proposals when present.

    Raises:
        TamperedRunError: a file the run decides with changed after vietser wrote it (refining would
            record the result as vietser's own).
    """
    verify_checksums(run_dir, DECIDING_FILES)
    run = RunDir(run_dir)
    config = read_reasoning_config(run_dir, llm)
    proposers: list = [SearchProposer()]
    if config.llm is not None:
        proposers.append(LLMProposer(config.llm))
    if edits_file is not None:
        proposers.append(PersonProposer.from_file(edits_file))
    if run.path(REVIEWS_FILE).is_file():
        proposers.append(PersonProposer.from_review_store(run.path(REVIEWS_FILE)))
    history = RulebookHistory(run_dir)
    result = refine(
        load_dev_set(run_dir),
        run.read_rulebook(),
        rounds=rounds,
        proposers=proposers,
        history=history,
        config=RefineConfig(prior_weight=config.rule_prior_weight),
    )
    for proposer in proposers:
        if isinstance(proposer, LLMProposer):
            proposer.close()
    run.write_rulebook(result.final_rulebook)
    update_checksums(run_dir, [RULEBOOK_FILE])
    run.write_refinement(result)
    return result


def rollback_run(run_dir: Path, version: int) -> Rulebook:
    """Make an earlier rulebook version the run's current one (recorded as a new version)."""
    rulebook = RulebookHistory(run_dir).rollback(version)
    RunDir(run_dir).write_rulebook(rulebook)
    update_checksums(run_dir, [RULEBOOK_FILE])
    return rulebook
