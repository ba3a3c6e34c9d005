"""The composition: acoustic probabilities → routing → reasoner → one Decision per clip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from vietser.acoustic.inference import read_as_one
from vietser.acoustic.priors import TargetPriors, adjust_to_priors, estimate_priors_em
from vietser.decision import ClipEvidence, Decision, Route, reasoner_probabilities
from vietser.evidence import ClassProfiles, build_evidence
from vietser.labels import CLASSES
from vietser.reasoning import Reasoner, ReasoningRequest, ReasoningResult
from vietser.routing import confidence_scores
from vietser.rules.engine import RuleEngine

if TYPE_CHECKING:
    from vietser.acoustic.inference import AcousticInference
    from vietser.config import RunConfig
    from vietser.rules.rulebook import Rulebook


def _optional(row: pd.Series, column: str) -> str | None:
    value = row.get(column)
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value)
    return text or None


OOD_COLUMN = "ood_score"
# An out-of-domain score above this lies beyond the training clips' 99th percentile.
OOD_LIMIT = 1.0


def out_of_domain(frame: pd.DataFrame) -> np.ndarray:
    """True for rows whose out-of-domain score (if the frame has one) is above :data:`OOD_LIMIT`."""
    if OOD_COLUMN not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[OOD_COLUMN].to_numpy(dtype=float) > OOD_LIMIT


def _ood_score(row: pd.Series) -> float | None:
    value = row.get(OOD_COLUMN)
    return None if value is None or not np.isfinite(value) else float(value)


def _beyond_limit(score: float | None) -> bool:
    return score is not None and score > OOD_LIMIT


def probability_dict(probabilities: np.ndarray) -> dict[str, float]:
    return {name: float(p) for name, p in zip(CLASSES, probabilities)}


def reasoning_requests(
    frame: pd.DataFrame, probabilities: np.ndarray, evidence: Sequence[ClipEvidence], delegated: bool = True
) -> list[ReasoningRequest]:
    """One request per row: its evidence, acoustic probabilities and transcript (if any); ``delegated``
    says whether the router sent the rows (False: a baseline asks about them)."""
    return [
        ReasoningRequest(
            evidence=clip_evidence,
            probabilities=probability_dict(probabilities[i]),
            transcript=_optional(row, "transcript"),
            out_of_domain=_beyond_limit(_ood_score(row)),
            delegated=delegated,
        )
        for i, ((_, row), clip_evidence) in enumerate(zip(frame.iterrows(), evidence))
    ]


def acoustic_decisions(
    frame: pd.DataFrame,
    probabilities: np.ndarray,
    evidence: Sequence[ClipEvidence],
    confidence: np.ndarray,
    routes: Sequence[Route],
) -> list[Decision]:
    """Decisions as the acoustic model alone would make them (reasoner "acoustic")."""
    decisions = []
    for i, (_, row) in enumerate(frame.iterrows()):
        label = CLASSES[int(np.argmax(probabilities[i]))]
        ood_score = _ood_score(row)
        decisions.append(
            Decision(
                clip_id=str(row["clip_id"]),
                path=_optional(row, "path"),
                speaker=_optional(row, "speaker"),
                split=_optional(row, "split"),
                true_label=_optional(row, "label"),
                label=label,
                probabilities=probability_dict(probabilities[i]),
                acoustic_label=label,
                confidence=float(confidence[i]),
                route=routes[i],
                reasoner="acoustic",
                evidence=evidence[i].cues,
                rationale=f"acoustic model: P({label}) = {probabilities[i].max():.2f}",
                ood_score=ood_score,
                out_of_domain=_beyond_limit(ood_score),
            )
        )
    return decisions


def _reasoned_probabilities(decision: Decision, result: ReasoningResult) -> dict[str, float]:
    """The reasoner's distribution over the decision's classes; from its confidence alone when it has none."""
    classes = list(decision.acoustic_probabilities)
    if result.probabilities is None:
        return reasoner_probabilities(result.label, result.confidence, classes)
    if set(result.probabilities) != set(classes):
        raise ValueError(f"the reasoner's classes {sorted(result.probabilities)} are not the decision's {sorted(classes)}")
    return {name: result.probabilities[name] for name in classes}


def apply_reasoning(decision: Decision, result: ReasoningResult) -> Decision:
    """The reasoner's answer for a delegated clip, with the reasoner's distribution (or, when it states only a
    confidence, one built from it); a failed answer keeps the acoustic label and probabilities, flagged."""
    kept = result.fallback and result.reasoner == "acoustic"
    return decision.model_copy(
        update={
            "label": decision.acoustic_label if kept else result.label,
            "probabilities": decision.acoustic_probabilities if kept else _reasoned_probabilities(decision, result),
            "reasoner": result.reasoner,
            "rationale": result.rationale or decision.rationale,
            "rules_applied": list(result.rules_used),
            "fallback": result.fallback,
            "fallback_reason": result.fallback_reason,
        }
    )


def combine(acoustic: Sequence[Decision], results: Mapping[int, ReasoningResult]) -> list[Decision]:
    """Acoustic decisions, with the reasoner's answer applied to the clips (by position) in ``results``."""
    return [apply_reasoning(d, results[i]) if i in results else d for i, d in enumerate(acoustic)]


def decide(
    frame: pd.DataFrame,
    probabilities: np.ndarray,
    evidence: Sequence[ClipEvidence],
    confidence: np.ndarray,
    routes: Sequence[Route],
    reasoner: Reasoner,
) -> list[Decision]:
    """Confident clips keep the acoustic decision; only delegated clips go to the reasoner (in one batch)."""
    delegated = delegated_positions(routes)
    results = (
        reasoner.reason(reasoning_requests(frame.iloc[delegated], probabilities[delegated], [evidence[i] for i in delegated]))
        if delegated
        else []
    )
    return decide_with(frame, probabilities, evidence, confidence, routes, dict(zip(delegated, results)))


def decide_with(
    frame: pd.DataFrame,
    probabilities: np.ndarray,
    evidence: Sequence[ClipEvidence],
    confidence: np.ndarray,
    routes: Sequence[Route],
    answers: Mapping[int, ReasoningResult],
) -> list[Decision]:
    """The composition itself: each clip's acoustic decision under its route, with the reasoner's answer
    applied to the clips (by position) in ``answers``."""
    return combine(acoustic_decisions(frame, probabilities, evidence, confidence, routes), answers)


def oracle_decisions(acoustic: Sequence[Decision], reasoned: Sequence[Decision]) -> list[Decision]:
    """Upper bound of routing: each clip takes whichever of the two answers is right (acoustic on ties)."""
    chosen = []
    for a, r in zip(acoustic, reasoned):
        use_reasoner = a.label != a.true_label and r.label == r.true_label
        chosen.append(r if use_reasoner else a)
    return chosen


@dataclass
class SplitView:
    """Rows of a features table with what the acoustic stage says about them."""

    frame: pd.DataFrame
    probabilities: np.ndarray
    evidence: list[ClipEvidence]
    confidence: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        return self.frame["label"].astype(str).to_numpy()

    def take(self, positions: Sequence[int]) -> SplitView:
        """The rows at ``positions``, in that order."""
        chosen = list(positions)
        return SplitView(
            self.frame.iloc[chosen].reset_index(drop=True),
            self.probabilities[chosen],
            [self.evidence[i] for i in chosen],
            self.confidence[chosen],
        )


def split_view(
    model: AcousticInference,
    profiles: ClassProfiles,
    frame: pd.DataFrame,
    config: RunConfig,
    priors: TargetPriors = None,
) -> SplitView:
    """The acoustic stage's account of ``frame``: probabilities (under ``priors`` when given), evidence,
    confidence, and each row's out-of-domain score as a column of the frame."""
    frame = frame.reset_index(drop=True).assign(**{OOD_COLUMN: model.ood_scores(frame)})
    probabilities = with_priors(model, frame, model.predict_proba(frame), priors)
    evidence = build_evidence(
        frame,
        probabilities,
        profiles,
        model.predict_clip_proba,
        top_k=config.evidence_cues,
        min_clips_per_speaker=config.min_clips_per_speaker,
        read_as_one=read_as_one(model, frame),
    )
    confidence = confidence_scores(probabilities, "max_prob" if config.confidence_score == "conformal" else config.confidence_score)
    return SplitView(frame, probabilities, evidence, confidence)


def with_priors(
    model: AcousticInference, frame: pd.DataFrame, probabilities: np.ndarray, priors: TargetPriors
) -> np.ndarray:
    """Posteriors of ``frame``'s rows under the deployment's class priors: given, or ``"auto"``
    estimated from these clips by EM (Saerens et al. 2002); unchanged for ``None`` or a model without a
    recorded training prior. The clips of a speaker read as one keep their own speaker's class mix
    (:func:`~vietser.acoustic.inference.read_as_one`): their clips say it better than a prior for the
    whole deployment, which would otherwise count twice."""
    if priors is None or model.domain_ is None or len(probabilities) == 0:
        return probabilities
    rest = ~read_as_one(model, frame)
    if not rest.any():
        return probabilities
    train_prior = np.asarray(model.domain_.class_prior)
    target = estimate_priors_em(probabilities[rest], train_prior).priors if isinstance(priors, str) else priors
    adjusted = probabilities.copy()
    adjusted[rest] = adjust_to_priors(probabilities[rest], train_prior, target)
    return adjusted


def make_reasoner(config: RunConfig, rulebook: Rulebook) -> Reasoner:
    """The LLM reasoner when an endpoint is configured, else the deterministic rule engine."""
    if config.llm is not None:
        from vietser.llm.reasoner import LLMReasoner  # the openai SDK, only when an LLM reasons

        return LLMReasoner(config.llm, rulebook)
    return RuleEngine(rulebook, prior_weight=config.rule_prior_weight)


def reason_every_clip(view: SplitView, reasoner: Reasoner, delegated: bool = False) -> list[ReasoningResult]:
    """The reasoner's answers for every clip of ``view``, asked as a baseline unless ``delegated``."""
    return reasoner.reason(reasoning_requests(view.frame, view.probabilities, view.evidence, delegated))


def reason_at(
    view: SplitView, reasoner: Reasoner, positions: Sequence[int], *, delegated: bool = False
) -> dict[int, ReasoningResult]:
    """The reasoner's answers (one batch) for the clips at ``positions``, by position; asked as delegated
    clips (the acoustic model was unsure) or, by default, as a baseline."""
    if not positions:
        return {}
    return dict(zip(positions, reason_every_clip(view.take(positions), reasoner, delegated)))


def delegated_positions(routes: Sequence[Route]) -> list[int]:
    return [i for i, route in enumerate(routes) if route == Route.DELEGATED]


def routed(
    view: SplitView, routes: Sequence[Route], results: Sequence[ReasoningResult] | Mapping[int, ReasoningResult]
) -> list[Decision]:
    """Pipeline decisions from the reasoner's answers (for every clip, or by position for at least the
    delegated ones): used on the delegated clips only."""
    delegated = {i: results[i] for i, route in enumerate(routes) if route == Route.DELEGATED}
    return decide_with(view.frame, view.probabilities, view.evidence, view.confidence, routes, delegated)


def every_clip_to(view: SplitView, results: Sequence[ReasoningResult]) -> list[Decision]:
    """The reasoner-only baseline: every clip decided by the reasoner."""
    routes = [Route.DELEGATED] * len(view.frame)
    return decide_with(view.frame, view.probabilities, view.evidence, view.confidence, routes, dict(enumerate(results)))
