"""Report sections as Markdown text (for the LLM prompt and for files a person reads)."""

from __future__ import annotations

from collections.abc import Sequence

from vietser.evaluate.sections import ReportSection


def _cell(text: str) -> str:
    """A table cell that cannot break the Markdown table."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def section_markdown(section: ReportSection, level: int = 2) -> str:
    """One section: heading, text, table (figures are left out)."""
    lines = [f"{'#' * level} {section.title}", ""]
    if section.text:
        lines += [section.text, ""]
    if section.columns:
        lines.append("| " + " | ".join(_cell(c) for c in section.columns) + " |")
        lines.append("|" + " --- |" * len(section.columns))
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in section.rows]
        if not section.rows:
            lines.append("| " + " | ".join(["—"] * len(section.columns)) + " |")
        lines.append("")
    return "\n".join(lines)


def sections_markdown(sections: Sequence[ReportSection], level: int = 2) -> str:
    """Several sections, one after the other."""
    return "\n".join(section_markdown(section, level) for section in sections)
