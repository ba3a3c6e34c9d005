"""The systems compared on the test split: acoustic only, rules only, LLM only, the pipeline, oracle routing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vietser.config import RunConfig
from vietser.decision import Decision, Route
from vietser.evaluate.bootstrap import paired_bootstrap
from vietser.evaluate.metrics import compute_metrics
from vietser.pipeline import (
    SplitView,
    decide_with,
    delegated_positions,
    every_clip_to,
    oracle_decisions,
    reason_at,
    reason_every_clip,
    routed,
)
from vietser.reasoning import Reasoner
from vietser.refine.loop import RefinementResult
from vietser.rules.engine import RuleEngine
from vietser.rules.rulebook import Rulebook

PIPELINE = "pipeline"
ACOUSTIC_ONLY = "acoustic only"


def compare_systems(
    test: SplitView, routes: list[Route], reasoner: Reasoner, rulebook: Rulebook, sample: Sequence[int] | None = None
) -> dict[str, list[Decision]]:
    """Acoustic only, rules only, LLM only (when the reasoner is an LLM), pipeline and oracle routing on test.

    The reasoner answers the delegated clips, asked as such, for the pipeline, and the clips of ``sample``
    (every clip when ``None``), asked as a baseline, for the systems decided by the reasoner alone (LLM only,
    oracle routing): those are scored on the sample and named after it (:func:`sampled_name`), and left out
    when it is empty.
    """
    positions = list(range(len(test.frame))) if sample is None else list(sample)
    answers = reason_at(test, reasoner, delegated_positions(routes), delegated=True)
    baseline = reason_at(test, reasoner, positions)
    kept = [Route.CONFIDENT] * len(test.frame)
    systems = {ACOUSTIC_ONLY: decide_with(test.frame, test.probabilities, test.evidence, test.confidence, kept, {})}
    systems["rules only"] = every_clip_to(test, reason_every_clip(test, RuleEngine(rulebook, prior_weight=0.0)))
    reasoned = every_clip_to(test.take(positions), [baseline[i] for i in positions])
    if reasoner.name == "llm" and positions:
        systems[sampled_name("LLM only", len(positions), len(test.frame))] = reasoned
    systems[PIPELINE] = routed(test, routes, answers)
    if positions:
        acoustic = decide_with(test.frame, test.probabilities, test.evidence, test.confidence, routes, {})
        oracle = oracle_decisions([acoustic[i] for i in positions], reasoned)
        systems[sampled_name("oracle routing", len(positions), len(test.frame))] = oracle
    return systems


def sampled_name(system: str, n_sampled: int, n_clips: int) -> str:
    """A system's name, saying so when it was scored on a sample of the clips."""
    return system if n_sampled == n_clips else f"{system} (sampled, n={n_sampled} of {n_clips})"


def sample_positions(n_clips: int, size: int | None, seed: int) -> list[int] | None:
    """A seeded sample of ``size`` clip positions (sorted), all when ``size`` is ``None`` or not smaller."""
    if size is None or size >= n_clips:
        return None
    return sorted(int(i) for i in np.random.default_rng(seed).choice(n_clips, size=size, replace=False))


def before_refinement(
    test: SplitView, routes: list[Route], config: RunConfig, refinement: RefinementResult
) -> tuple[str, list[Decision]]:
    """The pipeline with the rule engine and the rulebook refinement started from (read after refinement ended)."""
    initial = RuleEngine(refinement.initial_rulebook, prior_weight=config.rule_prior_weight)
    name = f"pipeline, rules v{refinement.initial_rulebook.version} (before refinement)"
    return name, routed(test, routes, reason_every_clip(test, initial))


def system_summary(systems: dict[str, list[Decision]], n_bootstrap: int, seed: int) -> dict:
    """Scores of every system, and the pipeline's paired-bootstrap gain over acoustic only."""
    truth = [d.true_label for d in systems[PIPELINE]]
    summary: dict = {}
    for name, decisions in systems.items():
        metrics = compute_metrics([d.true_label for d in decisions], [d.label for d in decisions])
        delegated = sum(d.route == Route.DELEGATED for d in decisions) / max(len(decisions), 1)
        summary[name] = {
            "accuracy": metrics.accuracy,
            "unweighted_accuracy": metrics.unweighted_accuracy,
            "macro_f1": metrics.macro_f1,
            "delegation_rate": delegated,
        }
    gain = paired_bootstrap(
        truth,
        [d.label for d in systems[ACOUSTIC_ONLY]],
        [d.label for d in systems[PIPELINE]],
        "macro_f1",
        n=n_bootstrap,
        seed=seed,
    )
    summary["pipeline_vs_acoustic"] = gain._asdict()
    return summary


def macro_f1(decisions: list[Decision]) -> float:
    return compute_metrics([d.true_label for d in decisions], [d.label for d in decisions]).macro_f1
