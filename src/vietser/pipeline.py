"""The composition: acoustic probabilities → routing → reasoner → one Decision per clip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from vietser.decision import ClipEvidence, Decision, Route
from vietser.labels import CLASSES
from vietser.reasoning import Reasoner, ReasoningRequest, ReasoningResult


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
    frame: pd.DataFrame, probabilities: np.ndarray, evidence: Sequence[ClipEvidence]
) -> list[ReasoningRequest]:
    """One request per row: its evidence, acoustic probabilities and transcript (if any)."""
    return [
        ReasoningRequest(
            evidence=clip_evidence,
            probabilities=probability_dict(probabilities[i]),
            transcript=_optional(row, "transcript"),
            out_of_domain=_beyond_limit(_ood_score(row)),
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


def apply_reasoning(decision: Decision, result: ReasoningResult) -> Decision:
    """The reasoner's answer for a delegated clip; a failed answer keeps the acoustic label, flagged."""
    label = decision.acoustic_label if result.fallback and result.reasoner == "acoustic" else result.label
    return decision.model_copy(
        update={
            "label": label,
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
    acoustic = acoustic_decisions(frame, probabilities, evidence, confidence, routes)
    delegated = [i for i, route in enumerate(routes) if route == Route.DELEGATED]
    if not delegated:
        return acoustic
    requests = reasoning_requests(frame.iloc[delegated], probabilities[delegated], [evidence[i] for i in delegated])
    return combine(acoustic, dict(zip(delegated, reasoner.reason(requests))))


def oracle_decisions(acoustic: Sequence[Decision], reasoned: Sequence[Decision]) -> list[Decision]:
    """Upper bound of routing: each clip takes whichever of the two answers is right (acoustic on ties)."""
    chosen = []
    for a, r in zip(acoustic, reasoned):
        use_reasoner = a.label != a.true_label and r.label == r.true_label
        chosen.append(r if use_reasoner else a)
    return chosen
