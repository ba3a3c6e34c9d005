"""Train and evaluate a run: acoustic model → routing chosen on dev → reasoner → baselines → report.

The test split is read only for the final decisions and the report: the model
is fitted on train, thresholds are chosen on dev.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vietser.acoustic import AcousticConfig, TrainedModel, load_model, save_model, train_acoustic
from vietser.acoustic.domain import TargetPriors, adjust_to_priors, estimate_priors_em
from vietser.config import RunConfig, read_reasoning_config, save_config
from vietser.decision import ClipEvidence, Decision, Route
from vietser.errors import ConfigError
from vietser.evaluate import AgreementReport, ReportFiles, agreement_report, compute_metrics, paired_bootstrap
from vietser.evaluate import write_report
from vietser.evaluate.sections import domain_section
from vietser.evidence import ClassProfiles, build_evidence, fit_class_profiles
from vietser.features.extract import read_features, write_features
from vietser.features.raw import raw_feature_columns
from vietser.features.normalize import CorpusStats
from vietser.integrity import TRAINED_FILES, record_training, update_checksums, verify_checksums
from vietser.llm.client import LLMConfig, LLMOverrides, PromptTemplates
from vietser.llm.reasoner import LLMReasoner
from vietser.pipeline import OOD_COLUMN, out_of_domain
from vietser.pipeline import acoustic_decisions, combine, oracle_decisions, reasoning_requests
from vietser.reasoning import Reasoner, ReasoningResult
from vietser.refine import RefinementResult, refinement_section
from vietser.routing import ROUTER_FILE, Router, choose_threshold, confidence_scores, save_router
from vietser.rules.engine import RuleEngine
from vietser.rules.fit import FitSettings, fit_rulebook
from vietser.rules.rulebook import Rulebook, default_rulebook, load_rulebook, save_rulebook
from vietser import rundir

PIPELINE = "pipeline"
ACOUSTIC_ONLY = "acoustic only"


@dataclass
class SplitView:
    """One split's rows with what the acoustic stage says about them."""

    frame: pd.DataFrame
    probabilities: np.ndarray
    evidence: list[ClipEvidence]
    confidence: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        return self.frame["label"].astype(str).to_numpy()


@dataclass
class EvaluationResult:
    """What `evaluate_run` produced: decisions (dev + test), the systems compared on test, the report."""

    decisions: list[Decision]
    systems: dict[str, list[Decision]]
    router: Router
    report: ReportFiles
    summary: dict


def check_splits(features: pd.DataFrame) -> None:
    """A run needs train, dev and test speakers.

    Raises:
        ConfigError: a split is empty.
    """
    present = set(features["split"].astype(str))
    missing = [split for split in ("train", "dev", "test") if split not in present]
    if missing:
        raise ConfigError(
            f"the features table has no {', '.join(missing)} rows; a run trains on train, chooses thresholds on dev "
            "and reports on test. Re-split the manifest by speaker (vietser.data.manifest.assign_speaker_splits)."
        )


def train_run(features: pd.DataFrame, config: RunConfig, run_dir: Path) -> TrainedModel:
    """Fit the acoustic model on the train split (and, with ``refit_on_dev``, its train + dev refit
    for test and predict) and lay out the run directory."""
    check_splits(features)
    model, _ = fit_acoustic_stage(features, config.acoustic, run_dir)
    shutil.rmtree(run_dir / rundir.FINAL_MODEL_DIR, ignore_errors=True)  # never a refit of an earlier training
    if config.refit_on_dev:
        refit_on_train_and_dev(features, config, run_dir)
    train = features[features["split"] == "train"]
    write_features(features, run_dir / rundir.FEATURES_FILE)
    rundir.write_run_manifest(features, run_dir)
    rulebook = load_rulebook(config.rulebook) if config.rulebook else default_rulebook()
    if config.fit_rules:
        fitted = fit_rulebook(train, config.acoustic, rulebook, FitSettings(n_folds=config.acoustic.cv_folds))
        rulebook = fitted.rulebook
        config = config.model_copy(update={"rule_prior_weight": round(fitted.prior_weight, 3)})
        (run_dir / rundir.RULE_FIT_FILE).write_text(fitted.report, encoding="utf-8")
    save_rulebook(rulebook, run_dir / rundir.RULEBOOK_FILE)
    save_config(config, run_dir)
    record_training(run_dir)
    return model


def refit_on_train_and_dev(
    features: pd.DataFrame, config: RunConfig, run_dir: Path
) -> tuple[TrainedModel, ClassProfiles]:
    """The acoustic model and class profiles refitted on train + dev speakers, saved in final-model/."""
    pooled = features.assign(split=features["split"].replace({"dev": "train"}))
    acoustic = config.acoustic.model_copy(update={"measure_calibration": False})
    return fit_acoustic_stage(pooled, acoustic, run_dir / rundir.FINAL_MODEL_DIR)


def fit_acoustic_stage(
    features: pd.DataFrame, acoustic: AcousticConfig, out_dir: Path
) -> tuple[TrainedModel, ClassProfiles]:
    """Train on the ``train`` rows (keeping their corpus statistics as fallback) and fit the class
    profiles; both are saved in ``out_dir``."""
    train = features[features["split"] == "train"]
    stats = CorpusStats.from_frame(train, raw_feature_columns(features))
    model = train_acoustic(features, acoustic, corpus_stats=stats.model_dump())
    profiles = fit_class_profiles(train)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_model(model, out_dir)
    rundir.write_profiles(profiles, out_dir)
    return model, profiles


def split_view(
    model: TrainedModel,
    profiles: ClassProfiles,
    frame: pd.DataFrame,
    config: RunConfig,
    priors: TargetPriors = None,
) -> SplitView:
    """The acoustic stage's account of ``frame``: probabilities (under ``priors`` when given), evidence,
    confidence, and each row's out-of-domain score as a column of the frame."""
    frame = frame.reset_index(drop=True).assign(**{OOD_COLUMN: model.ood_scores(frame)})
    probabilities = with_priors(model, model.predict_proba(frame), priors)
    evidence = build_evidence(
        frame,
        probabilities,
        profiles,
        model.predict_proba,
        top_k=config.evidence_cues,
        min_clips_per_speaker=config.min_clips_per_speaker,
    )
    confidence = confidence_scores(probabilities, "max_prob" if config.confidence_score == "conformal" else config.confidence_score)
    return SplitView(frame, probabilities, evidence, confidence)


def with_priors(model: TrainedModel, probabilities: np.ndarray, priors: TargetPriors) -> np.ndarray:
    """Posteriors under the deployment's class priors: given, or ``"auto"`` estimated from these clips
    by EM (Saerens et al. 2002); unchanged for ``None`` or a model without a recorded training prior."""
    if priors is None or model.domain_ is None or len(probabilities) == 0:
        return probabilities
    train_prior = np.asarray(model.domain_.class_prior)
    target = estimate_priors_em(probabilities, train_prior).priors if isinstance(priors, str) else priors
    return adjust_to_priors(probabilities, train_prior, target)


def make_reasoner(config: RunConfig, rulebook: Rulebook) -> Reasoner:
    """The LLM reasoner when an endpoint is configured, else the deterministic rule engine."""
    if config.llm is not None:
        return LLMReasoner(config.llm, rulebook)
    return RuleEngine(rulebook, prior_weight=config.rule_prior_weight)


def reason_every_clip(view: SplitView, reasoner: Reasoner) -> list[ReasoningResult]:
    return reasoner.reason(reasoning_requests(view.frame, view.probabilities, view.evidence))


def routed(view: SplitView, routes: list[Route], results: list[ReasoningResult]) -> list[Decision]:
    """Pipeline decisions: the reasoner's answer on delegated clips only."""
    acoustic = acoustic_decisions(view.frame, view.probabilities, view.evidence, view.confidence, routes)
    delegated = {i: results[i] for i, route in enumerate(routes) if route == Route.DELEGATED}
    return combine(acoustic, delegated)


def every_clip_to(view: SplitView, results: list[ReasoningResult]) -> list[Decision]:
    """The reasoner-only baseline: every clip decided by the reasoner."""
    routes = [Route.DELEGATED] * len(view.frame)
    acoustic = acoustic_decisions(view.frame, view.probabilities, view.evidence, view.confidence, routes)
    return combine(acoustic, dict(enumerate(results)))


def compare_systems(
    test: SplitView, routes: list[Route], reasoner: Reasoner, rulebook: Rulebook
) -> dict[str, list[Decision]]:
    """Acoustic only, rules only, LLM only (when the reasoner is an LLM), pipeline and oracle routing on test."""
    results = reason_every_clip(test, reasoner)
    acoustic = acoustic_decisions(test.frame, test.probabilities, test.evidence, test.confidence, routes)
    reasoned = every_clip_to(test, results)
    kept = [Route.CONFIDENT] * len(test.frame)
    systems = {ACOUSTIC_ONLY: acoustic_decisions(test.frame, test.probabilities, test.evidence, test.confidence, kept)}
    systems["rules only"] = (
        every_clip_to(test, reason_every_clip(test, RuleEngine(rulebook, prior_weight=0.0)))
    )
    if reasoner.name == "llm":
        systems["LLM only"] = reasoned
    systems[PIPELINE] = routed(test, routes, results)
    systems["oracle routing"] = oracle_decisions(acoustic, reasoned)
    return systems


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
        metrics = compute_metrics(truth, [d.label for d in decisions])
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


def annotator_agreement(frame: pd.DataFrame) -> AgreementReport | None:
    columns = [c for c in frame.columns if str(c).startswith("annotator_")]
    return agreement_report(frame, columns) if columns else None


def evaluate_run(
    run_dir: Path, *, llm: LLMConfig | LLMOverrides | None = None, templates: PromptTemplates = PromptTemplates()
) -> EvaluationResult:
    """Choose the routing threshold on dev, decide dev and test clips, compare systems and write the report.

    ``llm`` replaces (an LLMConfig) or amends (LLMOverrides) the run's LLM settings; prompt templates come only from ``templates``
    (:func:`~vietser.config.read_reasoning_config`).

    Raises:
        TamperedRunError: a file the run was trained with changed after `vietser train` wrote it.
    """
    rundir.require_run_dir(run_dir, rundir.FEATURES_FILE, rundir.PROFILES_FILE, rundir.RULEBOOK_FILE)
    verify_checksums(run_dir, TRAINED_FILES)
    config = read_reasoning_config(run_dir, llm, templates)
    features = read_features(run_dir / rundir.FEATURES_FILE)
    model = load_model(run_dir)
    profiles = rundir.read_profiles(run_dir)
    rulebook = load_rulebook(run_dir / rundir.RULEBOOK_FILE)
    with make_reasoner(config, rulebook) as reasoner:
        dev = split_view(model, profiles, features[features["split"] == "dev"], config)
        final_dir = rundir.final_model_dir(run_dir)
        final_model, final_profiles = (
            (load_model(final_dir), rundir.read_profiles(final_dir)) if final_dir != run_dir else (model, profiles)
        )
        test = split_view(final_model, final_profiles, features[features["split"] == "test"], config)

        dev_results = reason_every_clip(dev, reasoner)
        reasoner_correct = np.array([r.label for r in dev_results]) == dev.labels
        router = choose_threshold(
            dev.probabilities,
            dev.labels,
            config.routing,
            score=config.confidence_score,
            reasoner_correct=reasoner_correct,
        )
        save_router(router, run_dir)
        update_checksums(run_dir, [ROUTER_FILE])
        dev_decisions = routed(dev, router.route(dev.probabilities, out_of_domain(dev.frame)), dev_results)
        test_routes = router.route(test.probabilities, out_of_domain(test.frame))
        systems = compare_systems(test, test_routes, reasoner, rulebook)
        refinement = rundir.read_refinement(run_dir)
        extra_sections = []
        if refinement is not None:
            name, decisions_before = before_refinement(test, test_routes, config, refinement)
            systems[name] = decisions_before
            test_scores = {
                refinement.initial_rulebook.version: _macro_f1(decisions_before),
                refinement.final_rulebook.version: _macro_f1(systems[PIPELINE]),
            }
            extra_sections.append(refinement_section(refinement, test_scores))
        extra_sections.append(domain_section(systems[PIPELINE]))
        decisions = dev_decisions + systems[PIPELINE]
        rundir.write_decisions(decisions, run_dir / rundir.DECISIONS_FILE)

        summary = {
            "reasoner": reasoner.name,
            "router": router.model_dump(mode="json"),
            "test": system_summary(systems, config.n_bootstrap, config.seed),
            "dev_pipeline_macro_f1": compute_metrics(dev.labels, [d.label for d in dev_decisions]).macro_f1,
            "n_clips": {"train": int((features["split"] == "train").sum()), "dev": len(dev.frame), "test": len(test.frame)},
            "n_skipped": rundir.count_skipped(run_dir),
            "out_of_domain_share": {
                split: float(np.mean(out_of_domain(view.frame))) if len(view.frame) else 0.0
                for split, view in (("dev", dev), ("test", test))
            },
        }
        if isinstance(reasoner, LLMReasoner):
            summary["llm_usage"] = reasoner.usage.model_dump()
    rundir.write_summary(summary, run_dir)
    report = write_report(
        run_dir,
        systems[PIPELINE],
        title=f"vietser run report — {run_dir.name}",
        calibration=_calibration_section(model),
        routing=_routing_section(router),
        baselines={name: d for name, d in systems.items() if name != PIPELINE},
        agreement=annotator_agreement(features[features["split"] == "test"]),
        system_name=f"pipeline ({reasoner.name})",
        extra_sections=extra_sections,
        n_bootstrap=config.n_bootstrap,
        seed=config.seed,
    )
    return EvaluationResult(decisions, systems, router, report, summary)


def _macro_f1(decisions: list[Decision]) -> float:
    return compute_metrics([d.true_label for d in decisions], [d.label for d in decisions]).macro_f1


def _calibration_section(model: TrainedModel) -> dict | None:
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
