"""Report sections: a title, a paragraph, a table and figures, built from decisions.

Only decisions with a ``true_label`` count toward metrics. Numbers are
formatted here once, so the Markdown and HTML reports show the same strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vietser.decision import Decision, Route
from vietser.evaluate.bootstrap import bootstrap_ci
from vietser.evaluate.metrics import METRIC_NAMES, compute_metrics, score
from vietser.evaluate.plots import plot_confusion_matrix, plot_per_speaker
from vietser.labels import CLASSES
from vietser.run.dir import FIGURES_DIR

HOW_TO_READ: tuple[str, ...] = (
    "The acoustic model decides the clips it is sure of (route: confident); the others are delegated to a "
    "reasoner (the rule engine or an LLM), whose answer is their label. The threshold between the two and the "
    "rules were chosen on the dev speakers; every score below is on the test speakers, heard by neither.",
    "Start with Summary (the pipeline's accuracy, UA and macro-F1 with 95% intervals) and Baselines: does the "
    "pipeline beat 'acoustic only'? A Δ macro-F1 whose interval spans 0 shows no difference. Results by route "
    "and Decided by say how each path did; Risk–coverage how the acoustic error falls as it keeps fewer clips; "
    "Calibration whether its probabilities mean what they say (lower ECE and Brier are better); Per speaker "
    "whether some voices fare worse.",
)
"""The report's "how to read this report" box, one string per paragraph."""

METRIC_TITLES = {"accuracy": "accuracy", "unweighted_accuracy": "UA (balanced accuracy)", "macro_f1": "macro-F1"}


class ReportSection(BaseModel):
    """One report section; later stages (e.g. refinement rounds) add their own."""

    model_config = ConfigDict(extra="forbid")

    title: str
    text: str = ""
    columns: list[str] = Field(default_factory=list)
    rows: list[list[str]] = Field(default_factory=list)
    figures: list[str] = Field(default_factory=list, description="paths relative to the report folder")

    @field_validator("rows", mode="before")
    @classmethod
    def _format_cells(cls, rows: Sequence[Sequence[Any]]) -> list[list[str]]:
        return [[format_cell(cell) for cell in row] for row in rows]


def format_cell(cell: Any) -> str:
    """Table text of a value: floats with three decimals, missing values as an em dash."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return "—"
    if isinstance(cell, (bool, np.bool_)):
        return "yes" if cell else "no"
    if isinstance(cell, (int, np.integer)):
        return str(int(cell))
    if isinstance(cell, (float, np.floating)):
        return f"{float(cell):.3f}"
    return str(cell)


def format_share(share: float) -> str:
    """A share as a percentage with one decimal."""
    return f"{100.0 * share:.1f}%"


def format_interval(lo: float, hi: float) -> str:
    return f"[{lo:.3f}, {hi:.3f}]"


def decisions_frame(decisions: Sequence[Decision]) -> pd.DataFrame:
    """One row per decision with the fields the report groups and scores by: ``p.<class>`` the probabilities
    of the system that decided, ``a.<class>`` the acoustic model's."""
    rows = [
        {
            "clip_id": d.clip_id,
            "speaker": d.speaker if d.speaker is not None else "unknown",
            "true_label": d.true_label,
            "label": d.label,
            "acoustic_label": d.acoustic_label,
            "confidence": d.confidence,
            "route": Route(d.route).value,
            "reasoner": d.reasoner,
            "fallback": d.fallback,
            **{f"p.{name}": d.probabilities.get(name, 0.0) for name in CLASSES},
            **{f"a.{name}": d.acoustic_probabilities.get(name, 0.0) for name in CLASSES},
        }
        for d in decisions
    ]
    columns = ["clip_id", "speaker", "true_label", "label", "acoustic_label", "confidence", "route", "reasoner"]
    probabilities = [f"{kind}.{name}" for kind in ("p", "a") for name in CLASSES]
    return pd.DataFrame(rows, columns=[*columns, "fallback", *probabilities])


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """The decisions that carry a true label."""
    return frame[frame["true_label"].notna()]


def summary_section(frame: pd.DataFrame, n_bootstrap: int, seed: int) -> ReportSection:
    scored = labelled(frame)
    text = f"{len(frame)} clips, {len(scored)} with a true label (only those are scored)."
    if scored.empty:
        return ReportSection(title="Summary", text=text + " No metrics: no clip carries a true label.")
    rows = []
    for metric in METRIC_NAMES:
        interval = bootstrap_ci(scored["true_label"], scored["label"], metric, n=n_bootstrap, seed=seed)
        rows.append([METRIC_TITLES[metric], interval.estimate, format_interval(interval.lo, interval.hi)])
    text += f" Intervals: 95% percentile bootstrap over clips ({n_bootstrap} resamples)."
    return ReportSection(title="Summary", text=text, columns=["metric", "value", "95% CI"], rows=rows)


def per_class_section(frame: pd.DataFrame) -> ReportSection:
    scored = labelled(frame)
    metrics = compute_metrics(scored["true_label"], scored["label"])
    rows = [[name, s.precision, s.recall, s.f1, s.support] for name, s in metrics.per_class.items()]
    return ReportSection(title="Per class", columns=["class", "precision", "recall", "F1", "support"], rows=rows)


def confusion_section(frame: pd.DataFrame, out_dir: Path) -> ReportSection:
    scored = labelled(frame)
    confusion = compute_metrics(scored["true_label"], scored["label"]).confusion
    figure = plot_confusion_matrix(confusion, out_dir / FIGURES_DIR / "confusion_matrix.png")
    rows = [[f"true {name}", *counts] for name, counts in zip(CLASSES, confusion)]
    return ReportSection(
        title="Confusion matrix",
        text="Rows are true classes, columns predicted classes.",
        columns=["", *(f"pred {name}" for name in CLASSES)],
        rows=rows,
        figures=[relative_path(figure, out_dir)],
    )


def route_section(frame: pd.DataFrame) -> ReportSection:
    rows = []
    for route in Route:
        part = frame[frame["route"] == route.value]
        scored = labelled(part)
        rows.append([
            route.value,
            len(part),
            format_share(len(part) / max(len(frame), 1)),
            score_or_none(scored, "label", "accuracy"),
            score_or_none(scored, "label", "macro_f1"),
            score_or_none(scored, "acoustic_label", "accuracy"),
        ])
    return ReportSection(
        title="Results by route",
        text="Confident clips keep the acoustic label; delegated clips go to a reasoner.",
        columns=["route", "n", "share", "accuracy", "macro-F1", "acoustic-only accuracy"],
        rows=rows,
    )


def reasoner_section(frame: pd.DataFrame) -> ReportSection:
    rows = []
    for reasoner, part in frame.groupby("reasoner", sort=True):
        rows.append([
            reasoner,
            len(part),
            format_share(len(part) / len(frame)),
            int(part["fallback"].sum()),
            score_or_none(labelled(part), "label", "accuracy"),
        ])
    return ReportSection(
        title="Decided by",
        text="Fallbacks are clips whose reasoner failed; they keep the acoustic label and are flagged.",
        columns=["reasoner", "n", "share", "fallbacks", "accuracy"],
        rows=rows,
    )


def speaker_section(frame: pd.DataFrame, out_dir: Path) -> ReportSection:
    scored = labelled(frame)
    rows = []
    for speaker, part in scored.groupby("speaker", sort=True):
        rows.append([
            speaker,
            len(part),
            score(part["true_label"], part["label"], "accuracy"),
            score(part["true_label"], part["label"], "macro_f1"),
            format_share(float((part["route"] == Route.DELEGATED.value).mean())),
        ])
    figure = plot_per_speaker(
        [str(r[0]) for r in rows], [float(r[2]) for r in rows], [int(r[1]) for r in rows],
        out_dir / FIGURES_DIR / "per_speaker.png",
    )
    return ReportSection(
        title="Per speaker",
        columns=["speaker", "n", "accuracy", "macro-F1", "delegated"],
        rows=rows,
        figures=[relative_path(figure, out_dir)],
    )


def score_or_none(scored: pd.DataFrame, column: str, metric: str) -> float | None:
    if scored.empty:
        return None
    return score(scored["true_label"], scored[column], metric)  # type: ignore[arg-type]


def report_title(run_root: Path, model: str, reasoner: str) -> str:
    """A title that names the run (its folder with its parent, since runs are often just ``run``), the
    acoustic model and the reasoner."""
    folder = run_root.resolve()
    name = f"{folder.parent.name}/{folder.name}" if folder.parent.name else folder.name
    return f"vietser report: {name} — {model} acoustic model, {reasoner} reasoner"


def relative_path(path: Path, out_dir: Path) -> str:
    return path.relative_to(out_dir).as_posix()


def domain_section(
    decisions: Sequence[Decision], per_corpus: Mapping[str, float] | None = None, most: int = 10
) -> ReportSection:
    """How many clips lay outside the acoustic training data, the farthest of them, and the macro-F1 of
    each corpus (:func:`corpus_scores`) when ``per_corpus`` names more than one."""
    scored = [d for d in decisions if d.ood_score is not None]
    outside = sorted((d for d in scored if d.out_of_domain), key=lambda d: d.ood_score or 0.0, reverse=True)
    text = (
        f"{len(outside)} of {len(scored)} clips ({format_share(len(outside) / max(len(scored), 1))}) lie outside the "
        "acoustic training data (out-of-domain score above 1, where 1 is the training clips' 99th percentile). Their "
        "probabilities are pulled towards the training prior, they go to the reasoner without rules, and they wait in "
        "the review queue: a score here says the model has not heard speech like this, not what it is."
    )
    if per_corpus is not None and len(per_corpus) > 1:
        text += " Macro-F1 per corpus: " + ", ".join(f"{name} {value:.3f}" for name, value in per_corpus.items()) + "."
    rows = [[d.clip_id, f"{d.ood_score:.2f}", d.label, d.true_label or "—"] for d in outside[:most]]
    return ReportSection(
        title="Domain", text=text, columns=["clip", "out-of-domain score", "decided", "truth"], rows=rows
    )


def corpus_scores(decisions: Sequence[Decision], corpus_of: Mapping[str, str]) -> dict[str, float]:
    """Macro-F1 of the labelled decisions of each corpus named in ``corpus_of`` (clip id → corpus)."""
    groups: dict[str, list[Decision]] = {}
    for decision in decisions:
        if decision.true_label in CLASSES and decision.clip_id in corpus_of:
            groups.setdefault(corpus_of[decision.clip_id], []).append(decision)
    return {
        corpus: compute_metrics([d.true_label for d in group], [d.label for d in group]).macro_f1
        for corpus, group in sorted(groups.items())
    }
