"""The evaluation report of a run: ``report.md`` and ``report.html`` with PNG figures.

Example:
    >>> files = write_report("run", decisions, title="dev split")  # doctest: +SKIP
    >>> files.html
    PosixPath('run/report.html')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

import jinja2

from vietser import __version__
from vietser.decision import Decision
from vietser.evaluate.agreement import AgreementReport
from vietser.evaluate.comparisons import (
    ROUTING_TERMS,
    agreement_section,
    baselines_section,
    calibration_section,
    mapping_section,
    risk_coverage_section,
)
from vietser.evaluate.sections import (
    HOW_TO_READ,
    ReportSection,
    confusion_section,
    decisions_frame,
    labelled,
    per_class_section,
    reasoner_section,
    route_section,
    speaker_section,
    summary_section,
)
from vietser.run.dir import REPORT_HTML, REPORT_MARKDOWN
from vietser.templating import render, sandboxed_environment


@dataclass(frozen=True)
class ReportFiles:
    """Paths of a written report."""

    markdown: Path
    html: Path
    figures: list[Path]


def write_report(
    out_dir: str | Path,
    decisions: Sequence[Decision],
    *,
    title: str = "vietser evaluation report",
    calibration: Mapping[str, Any] | None = None,
    routing: Mapping[str, Any] | None = None,
    baselines: Mapping[str, Sequence[Decision]] | None = None,
    agreement: AgreementReport | None = None,
    extra_sections: Sequence[ReportSection] | None = None,
    system_name: str = "this run",
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> ReportFiles:
    """Score decisions against their true labels and write report.md, report.html and figures/*.png.

    Args:
        out_dir: folder to write into (created if missing).
        decisions: one per clip; only those with ``true_label`` are scored.
        calibration: ``{stage: {"ece": .., "brier": ..}}``, e.g. before/after
            calibration; other top-level entries are shown as notes.
        routing: the routing policy (e.g. routing.json), shown as a table.
        baselines: other systems' decisions by name; the first is the
            reference for paired-bootstrap differences.
        agreement: annotator agreement of the manifest.
        extra_sections: sections added by later stages, shown last.
        system_name: the name of ``decisions`` in the baselines table.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sections = build_sections(
        out_dir,
        decisions,
        calibration=calibration,
        routing=routing,
        baselines=baselines,
        agreement=agreement,
        system_name=system_name,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    sections += list(extra_sections or [])
    context = {
        "title": title,
        "generated": f"vietser {__version__}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "sections": [(_anchor(section.title, i), section) for i, section in enumerate(sections)],
        "how_to_read": HOW_TO_READ,
    }
    markdown = out_dir / REPORT_MARKDOWN
    html = out_dir / REPORT_HTML
    markdown.write_text(render(_environment(autoescape=False).get_template("report.md.j2"), context), encoding="utf-8")
    html.write_text(render(_environment(autoescape=True).get_template("report.html.j2"), context), encoding="utf-8")
    figures = [out_dir / figure for section in sections for figure in section.figures]
    return ReportFiles(markdown=markdown, html=html, figures=figures)


def build_sections(
    out_dir: Path,
    decisions: Sequence[Decision],
    *,
    calibration: Mapping[str, Any] | None,
    routing: Mapping[str, Any] | None,
    baselines: Mapping[str, Sequence[Decision]] | None,
    agreement: AgreementReport | None,
    system_name: str,
    n_bootstrap: int,
    seed: int,
) -> list[ReportSection]:
    """The built-in sections, in report order; those without data are left out."""
    frame = decisions_frame(decisions)
    sections = [summary_section(frame, n_bootstrap, seed)]
    has_labels = not labelled(frame).empty
    if has_labels:
        sections += [per_class_section(frame), confusion_section(frame, out_dir)]
    if not frame.empty:
        sections += [route_section(frame), reasoner_section(frame)]
    if has_labels:
        sections.append(risk_coverage_section(frame, out_dir))
    if routing:
        sections.append(mapping_section("Routing policy", routing, ROUTING_TERMS))
    if has_labels:
        sections.append(calibration_section(frame, out_dir, calibration))
    if baselines:
        sections.append(baselines_section(frame, baselines, system_name, n_bootstrap, seed))
    if has_labels:
        sections.append(speaker_section(frame, out_dir))
    if agreement is not None:
        sections.append(agreement_section(agreement))
    return sections


def _environment(autoescape: bool) -> jinja2.Environment:
    environment = sandboxed_environment(
        loader=jinja2.PackageLoader("vietser.evaluate", "templates"),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["md_cell"] = _markdown_cell
    environment.filters["paragraphs"] = _paragraphs
    return environment


def _markdown_cell(text: str) -> str:
    """A table cell that cannot break the Markdown table."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _paragraphs(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]


def _anchor(title: str, index: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"s{index}-{slug}" if slug else f"s{index}"
