"""Report sections that set this run against something else.

Against baselines (paired bootstrap on the clips both scored), against its
own confidence (risk–coverage of the acoustic label), against outcomes
(calibration) and against the human annotators (agreement).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from vietser.decision import Decision, Route
from vietser.evaluate.agreement import AgreementReport
from vietser.evaluate.bootstrap import paired_bootstrap
from vietser.evaluate.calibration import brier_score, expected_calibration_error
from vietser.evaluate.plots import plot_reliability, plot_risk_coverage
from vietser.routing import risk_coverage_curve
from vietser.evaluate.sections import (
    ReportSection,
    decisions_frame,
    format_interval,
    format_share,
    labelled,
    relative_path,
    score_or_none,
)
from vietser.labels import CLASSES
from vietser.run.dir import FIGURES_DIR

RISK_TABLE_COVERAGES = (0.25, 0.5, 0.75, 1.0)


def calibration_section(frame: pd.DataFrame, out_dir: Path, calibration: Mapping[str, Any] | None) -> ReportSection:
    """ECE and Brier score: stages given as ``{stage: {"ece": .., "brier": ..}}``, then the acoustic model's
    and the decisions' on these clips, with a comment when these clips fare worse than the stage before."""
    scored = labelled(frame)
    truth = scored["true_label"]
    acoustic = scored[[f"a.{name}" for name in CLASSES]].to_numpy(dtype=float)
    decided = scored[[f"p.{name}" for name in CLASSES]].to_numpy(dtype=float)
    figure = plot_reliability(acoustic, truth, out_dir / FIGURES_DIR / "reliability.png")
    rows = _calibration_rows(calibration)
    here = expected_calibration_error(acoustic, truth)
    rows.append([f"acoustic model, these {len(scored)} clips", here, brier_score(acoustic, truth)])
    rows.append(["decisions (reasoner's where it decided)", expected_calibration_error(decided, truth), brier_score(decided, truth)])
    notes = [f"{key}: {value}" for key, value in (calibration or {}).items() if not isinstance(value, Mapping)]
    return ReportSection(
        title="Calibration",
        text=" ".join(
            [
                "Expected calibration error (10 bins, top class) and Brier score of the probabilities; lower is better.",
                *notes,
                *_calibration_comment(calibration, here),
            ]
        ),
        columns=["probabilities", "ECE", "Brier"],
        rows=rows,
        figures=[relative_path(figure, out_dir)],
    )


def risk_coverage_section(frame: pd.DataFrame, out_dir: Path) -> ReportSection:
    """Risk–coverage of the acoustic label ordered by confidence, its AURC, and where routing operates."""
    scored = labelled(frame)
    correct = (scored["acoustic_label"] == scored["true_label"]).to_numpy()
    curve = risk_coverage_curve(scored["confidence"].to_numpy(dtype=float), correct)
    coverage, risk, area = curve.coverage, curve.risk, curve.aurc
    confident = (scored["route"] == Route.CONFIDENT.value).to_numpy()
    operating = None
    if confident.any():
        operating = (float(confident.mean()), float(1.0 - correct[confident].mean()))
    figure = plot_risk_coverage(
        coverage, risk, out_dir / FIGURES_DIR / "risk_coverage.png", aurc=area, operating_point=operating
    )
    rows: list[list[Any]] = []
    for target in RISK_TABLE_COVERAGES:
        index = min(int(np.searchsorted(coverage, target - 1e-12)), len(coverage) - 1)
        rows.append([format_share(coverage[index]), risk[index]])
    if operating is not None:
        rows.append([f"{format_share(operating[0])} (routing)", operating[1]])
    return ReportSection(
        title="Risk–coverage",
        text=(
            f"Acoustic label kept for the most confident clips first. AURC {area:.3f} "
            "(mean error rate over all coverages; lower is better)."
        ),
        columns=["coverage", "risk (acoustic error rate)"],
        rows=rows,
        figures=[relative_path(figure, out_dir)],
    )


def baselines_section(
    frame: pd.DataFrame,
    baselines: Mapping[str, Sequence[Decision]],
    system_name: str,
    n_bootstrap: int,
    seed: int,
) -> ReportSection:
    """Systems side by side; macro-F1 differences against the first baseline on the clips both scored."""
    systems = {system_name: frame} | {name: decisions_frame(d) for name, d in baselines.items()}
    reference_name = next(iter(baselines))
    reference = labelled(systems[reference_name]).set_index("clip_id")["label"].rename("reference")
    rows = []
    for name, system in systems.items():
        scored = labelled(system)
        row: list[Any] = [
            name,
            len(scored),
            score_or_none(scored, "label", "accuracy"),
            score_or_none(scored, "label", "unweighted_accuracy"),
            score_or_none(scored, "label", "macro_f1"),
            format_share(float((system["route"] == Route.DELEGATED.value).mean())) if len(system) else None,
        ]
        rows.append(row + _delta_cells(name == reference_name, scored, reference, n_bootstrap, seed))
    return ReportSection(
        title="Baselines",
        text=(
            f"Δ macro-F1 is each system minus {reference_name!r} on the clips both scored, "
            f"with a 95% paired-bootstrap interval ({n_bootstrap} resamples) and two-sided p-value."
        ),
        columns=["system", "n", "accuracy", "UA", "macro-F1", "delegated", "Δ macro-F1", "95% CI", "p"],
        rows=rows,
    )


def agreement_section(agreement: AgreementReport) -> ReportSection:
    """Fleiss' kappa and per-item agreement of the annotators."""
    rows: list[list[Any]] = [
        ["Fleiss' kappa", agreement.fleiss_kappa],
        ["items with ≥ 2 votes", agreement.n_items],
        ["annotators", agreement.n_annotators],
        ["votes", agreement.n_votes],
        ["mean per-item agreement", agreement.mean_item_agreement],
        ["unanimous items", format_share(agreement.unanimous_share)],
    ]
    if agreement.majority_matches_label is not None:
        rows.append(["majority vote = label", format_share(agreement.majority_matches_label)])
    rows += [[f"mean agreement, majority {name}", value] for name, value in agreement.per_class_agreement.items()]
    return ReportSection(
        title="Annotator agreement",
        text="Per-item agreement: share of an item's votes that name its majority class.",
        columns=["measure", "value"],
        rows=rows,
    )


ROUTING_TERMS = (
    "score: how the acoustic model's confidence is measured; threshold: clips scoring below it go to the reasoner; "
    "policy: how the threshold was chosen on dev. On the dev clips at that threshold: dev coverage is the share the "
    "acoustic model keeps, dev risk its error rate on them, dev reasoner_accuracy the share of all dev clips the "
    "reasoner labels right when it is given every one, and dev expected_accuracy the pipeline's accuracy on dev "
    "(the acoustic label on kept clips, the reasoner's on delegated ones), the quantity a best_accuracy or budget "
    "policy maximises."
)
"""What the routing policy's table means."""


def mapping_section(title: str, values: Mapping[str, Any], text: str = "") -> ReportSection:
    """A two-column table of settings (nested values shown as JSON)."""
    rows = [[key, json.dumps(value) if isinstance(value, (dict, list)) else value] for key, value in values.items()]
    return ReportSection(title=title, text=text, columns=["setting", "value"], rows=rows)


def _delta_cells(
    is_reference: bool, scored: pd.DataFrame, reference: pd.Series, n_bootstrap: int, seed: int
) -> list[Any]:
    if is_reference:
        return ["reference", None, None]
    paired = scored.set_index("clip_id").join(reference, how="inner")
    if paired.empty:
        return [None, None, None]
    result = paired_bootstrap(
        paired["true_label"], paired["reference"], paired["label"], "macro_f1", n=n_bootstrap, seed=seed
    )
    return [f"{result.delta:+.3f}", format_interval(result.lo, result.hi), f"{result.p_value:.3f}"]


def _calibration_comment(calibration: Mapping[str, Any] | None, here: float) -> list[str]:
    """Why these clips' ECE can exceed the uncalibrated one measured when training, when it does."""
    stage = (calibration or {}).get("before")
    before = _lookup(stage, "ece") if isinstance(stage, Mapping) else None
    if before is None or here <= before:
        return []
    return [
        f"The acoustic ECE here ({here:.3f}) is above 'before' ({before:.3f}): before/after were measured on the "
        "training speakers' out-of-fold clips, these are other speakers and fewer clips (ECE over 10 bins is "
        "biased upward on small samples), so the calibration map carries over to new speakers only in part; "
        "it does not mean calibrating made the probabilities worse."
    ]


def _calibration_rows(calibration: Mapping[str, Any] | None) -> list[list[Any]]:
    if not calibration:
        return []
    return [
        [stage, _lookup(values, "ece"), _lookup(values, "brier")]
        for stage, values in calibration.items()
        if isinstance(values, Mapping)
    ]


def _lookup(values: Mapping[str, Any], key: str) -> Any:
    for name, value in values.items():
        if name.lower() == key:
            return value
    return None
