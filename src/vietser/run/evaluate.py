"""Evaluate a run: choose the router on dev, compare the systems on test, write decisions, summary and report.

The test split is read only here, for the final decisions and the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vietser.acoustic.train import AcousticModel
from vietser.config import RunConfig, read_reasoning_config
from vietser.data.manifest import corpus_of_clips
from vietser.decision import Decision
from vietser.evaluate.agreement import AgreementReport, agreement_report
from vietser.evaluate.metrics import compute_metrics
from vietser.evaluate.report import ReportFiles, write_report
from vietser.evaluate.sections import ReportSection, corpus_scores, domain_section, report_title
from vietser.integrity import TRAINED_FILES, update_checksums, verify_checksums
from vietser.labels import annotator_columns
from vietser.llm.client import LLMConfig, LLMOverrides, PromptTemplates
from vietser.llm.reasoner import LLMReasoner
from vietser.errors import ConfigError
from vietser.pipeline import SplitView, delegated_positions, make_reasoner, out_of_domain, reason_at, routed, split_view
from vietser.reasoning import Reasoner, ReasoningResult
from vietser.refine.report import refinement_section
from vietser.routing import BestAccuracy, Router, choose_threshold
from vietser.run.dir import FEATURES_FILE, PROFILES_FILE, ROUTER_FILE, RULEBOOK_FILE, RunDir
from vietser.run.systems import PIPELINE, before_refinement, compare_systems, macro_f1, sample_positions, system_summary


@dataclass
class EvaluationResult:
    """What `evaluate_run` produced: decisions (dev + test), the systems compared on test, the report."""

    decisions: list[Decision]
    systems: dict[str, list[Decision]]
    router: Router
    report: ReportFiles
    summary: dict


def evaluate_run(
    run_dir: Path, *, llm: LLMConfig | LLMOverrides | None = None, templates: PromptTemplates = PromptTemplates()
) -> EvaluationResult:
    """Choose the routing threshold on dev, decide dev and test clips, compare systems and write the report.

    ``llm`` replaces (an LLMConfig) or amends (LLMOverrides) the run's LLM settings; prompt templates come only from ``templates``
    (:func:`~vietser.config.read_reasoning_config`).

    Raises:
        TamperedRunError: a file the run was trained with changed after `vietser train` wrote it.
    """
    run = RunDir(run_dir).require(FEATURES_FILE, PROFILES_FILE, RULEBOOK_FILE)
    verify_checksums(run_dir, TRAINED_FILES)
    config = read_reasoning_config(run_dir, llm, templates)
    features = run.read_features()
    model, profiles = run.read_model(), run.read_profiles()
    rulebook = run.read_rulebook()
    with make_reasoner(config, rulebook) as reasoner:
        dev = split_view(model, profiles, features[features["split"] == "dev"], config)
        final = run.final_model
        final_model, final_profiles = (final.read_model(), final.read_profiles()) if final != run else (model, profiles)
        test = split_view(final_model, final_profiles, features[features["split"] == "test"], config)

        sample_size = config.llm.baseline_clips if config.llm is not None else None
        dev_sample = sample_positions(len(dev.frame), sample_size, config.seed)
        dev_answers = reason_at(dev, reasoner, range(len(dev.frame)) if dev_sample is None else dev_sample)
        router = choose_router(dev, dev_answers, config)
        run.write_router(router)
        update_checksums(run_dir, [ROUTER_FILE])
        dev_routes = router.route(dev.probabilities, out_of_domain(dev.frame))
        delegated_answers = reason_at(dev, reasoner, delegated_positions(dev_routes), delegated=True)
        dev_decisions = routed(dev, dev_routes, delegated_answers)
        test_routes = router.route(test.probabilities, out_of_domain(test.frame))
        test_sample = sample_positions(len(test.frame), sample_size, config.seed)
        systems = compare_systems(test, test_routes, reasoner, rulebook, test_sample)
        extra_sections = []
        refinement = run.read_refinement()
        if refinement is not None:
            name, decisions_before = before_refinement(test, test_routes, config, refinement)
            systems[name] = decisions_before
            test_scores = {
                refinement.initial_rulebook.version: macro_f1(decisions_before),
                refinement.final_rulebook.version: macro_f1(systems[PIPELINE]),
            }
            extra_sections.append(refinement_section(refinement, test_scores))
        per_corpus = corpus_scores(systems[PIPELINE], corpus_of_clips(test.frame))
        extra_sections.append(domain_section(systems[PIPELINE], per_corpus))
        decisions = dev_decisions + systems[PIPELINE]
        summary = run_summary(reasoner, router, systems, (dev, dev_decisions), test, features, run.count_skipped(), config)
        if len(per_corpus) > 1:
            summary["per_corpus"] = per_corpus
    report = write_evaluation(run, decisions, summary, systems, model, router, features, reasoner, extra_sections, config)
    return EvaluationResult(decisions, systems, router, report, summary)


def choose_router(dev: SplitView, dev_answers: Mapping[int, ReasoningResult], config: RunConfig) -> Router:
    """The routing threshold of the run's policy, chosen on dev with how often the reasoner is right there:
    per clip when it answered every dev clip, else its accuracy on the clips it answered (a sample).

    Raises:
        ConfigError: the policy needs the reasoner's accuracy and it answered no dev clip (``baseline_clips = 0``).
    """
    positions = sorted(dev_answers)
    correct = np.array([dev_answers[i].label for i in positions]) == dev.labels[positions]
    reasoner_correct: np.ndarray | float | None = correct if len(positions) == len(dev.frame) else None
    if reasoner_correct is None and positions:
        reasoner_correct = float(correct.mean())
    if reasoner_correct is None and isinstance(config.routing, BestAccuracy):
        raise ConfigError(
            "the best_accuracy routing policy needs the LLM's accuracy on dev clips, and --llm-baseline 0 "
            "(llm.baseline_clips = 0) sends none; give --llm-baseline N with N > 0, or another routing policy"
        )
    return choose_threshold(
        dev.probabilities,
        dev.labels,
        config.routing,
        score=config.confidence_score,
        reasoner_correct=reasoner_correct,
    )


def run_summary(
    reasoner: Reasoner,
    router: Router,
    systems: dict[str, list[Decision]],
    dev_and_decisions: tuple[SplitView, list[Decision]],
    test: SplitView,
    features: pd.DataFrame,
    n_skipped: int,
    config: RunConfig,
) -> dict:
    """summary.json: the reasoner, the router, every system's test scores, clip counts, out-of-domain shares."""
    dev, dev_decisions = dev_and_decisions
    summary = {
        "reasoner": reasoner.name,
        "router": router.model_dump(mode="json"),
        "test": system_summary(systems, config.n_bootstrap, config.seed),
        "dev_pipeline_macro_f1": compute_metrics(dev.labels, [d.label for d in dev_decisions]).macro_f1,
        "n_clips": {"train": int((features["split"] == "train").sum()), "dev": len(dev.frame), "test": len(test.frame)},
        "n_skipped": n_skipped,
        "out_of_domain_share": {
            split: float(np.mean(out_of_domain(view.frame))) if len(view.frame) else 0.0
            for split, view in (("dev", dev), ("test", test))
        },
    }
    if isinstance(reasoner, LLMReasoner):
        summary["llm_usage"] = reasoner.usage.model_dump()
    return summary


def write_evaluation(
    run: RunDir,
    decisions: list[Decision],
    summary: dict,
    systems: dict[str, list[Decision]],
    model: AcousticModel,
    router: Router,
    features: pd.DataFrame,
    reasoner: Reasoner,
    extra_sections: list[ReportSection],
    config: RunConfig,
) -> ReportFiles:
    """decisions.jsonl, summary.json and the report (Markdown, HTML, figures) of an evaluated run."""
    run.write_decisions(decisions)
    run.write_summary(summary)
    return write_report(
        run.root,
        systems[PIPELINE],
        title=report_title(run.root, model.config.model.value, reasoner.name),
        calibration=_calibration_section(model),
        routing=_routing_section(router),
        baselines={name: d for name, d in systems.items() if name != PIPELINE},
        agreement=annotator_agreement(features[features["split"] == "test"]),
        system_name=f"pipeline ({reasoner.name})",
        extra_sections=extra_sections,
        n_bootstrap=config.n_bootstrap,
        seed=config.seed,
    )


def annotator_agreement(frame: pd.DataFrame) -> AgreementReport | None:
    columns = annotator_columns(frame)
    return agreement_report(frame, columns) if columns else None


def _calibration_section(model: AcousticModel) -> dict | None:
    report = model.calibration_
    if report is None:
        return None
    return {
        "method": report.method.value,
        "evaluated on": report.evaluated_on,
        "before": {"ece": report.ece_before, "brier": report.brier_before},
        "after": {"ece": report.ece_after, "brier": report.brier_after},
    }


def _routing_section(router: Router) -> dict:
    return {
        "score": router.score,
        "threshold": router.threshold,
        "policy": router.policy.kind,
        **{f"dev {key}": value for key, value in router.dev.model_dump().items() if value is not None},
    }
