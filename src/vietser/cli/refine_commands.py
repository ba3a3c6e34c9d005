"""Refinement commands: analyse, refine, rulebook history and rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from vietser.cli.console import console, step, user_errors
from vietser.cli.llm_options import LLMOptions
from vietser.cli.options import (
    LLMBaseURLOption,
    LLMModelOption,
    LLMPromptTemplateOption,
    LLMSystemTemplateOption,
    prompt_templates,
)
from vietser.cli.rules_commands import rules_app

RunArgument = Annotated[Path, typer.Argument(metavar="RUN", help="Evaluated run directory.")]


def print_rounds(result) -> None:  # noqa: ANN001 - RefinementResult, imported lazily
    """Dev scores per refinement round and the edits kept."""
    from vietser.refine.edits import describe_edit

    table = Table(title=f"refinement on dev — {result.stopped}")
    for column in ("round", "rules", "dev macro-F1", "Δ", "delegated", "kept edit"):
        table.add_column(column, justify="left" if column == "kept edit" else "right")
    table.add_row("start", f"v{result.initial_rulebook.version}", f"{result.initial_dev:.3f}", "", "", "")
    for r in result.rounds:
        kept = "; ".join(describe_edit(a.edit) for a in r.accepted) or "none passed"
        table.add_row(
            str(r.round), f"v{r.version_after}", f"{r.dev_after:.3f}", f"{r.dev_after - r.dev_before:+.3f}",
            f"{r.delegation_rate:.0%}", kept,
        )
    console.print(table)


def analyse(run_dir: RunArgument) -> None:
    """Error analysis on the dev split: confusions, evidence patterns, rule precision, routing mistakes."""
    from vietser.run.dir import ANALYSIS_FILE, ANALYSIS_MARKDOWN
    from vietser.run.refine import analyse_run

    with user_errors():
        analysis = analyse_run(run_dir)
    console.print(analysis.to_markdown())
    console.print(f"written: {run_dir / ANALYSIS_MARKDOWN} and {ANALYSIS_FILE}")


def refine(
    run_dir: RunArgument,
    rounds: Annotated[int, typer.Option(help="Refinement rounds (stops early when no edit passes).")] = 3,
    edits: Annotated[Optional[Path], typer.Option(help="A person's rule edits (YAML/JSON) to test.")] = None,
    llm_base_url: LLMBaseURLOption = None,
    llm_model: LLMModelOption = None,
    llm_system_template: LLMSystemTemplateOption = None,
    llm_prompt_template: LLMPromptTemplateOption = None,
) -> None:
    """Refine the rulebook on dev; keep an edit only if dev macro-F1 rises beyond noise. Then re-evaluate on test."""
    from vietser.cli.run_commands import print_systems
    from vietser.run.evaluate import evaluate_run
    from vietser.run.refine import refine_run

    with user_errors():
        llm = LLMOptions(llm_base_url, llm_model).overrides()
        with step(f"refinement: up to {rounds} rounds of rule edits scored on dev"):
            result = refine_run(run_dir, rounds, llm=llm, edits_file=edits)
        print_rounds(result)
        with step("evaluation with the refined rulebook"):
            evaluation = evaluate_run(run_dir, llm=llm, templates=prompt_templates(llm_system_template, llm_prompt_template))
    print_systems(evaluation.summary)
    console.print(f"report: {evaluation.report.html}")


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


@rules_app.command("history")
def history(run_dir: RunArgument) -> None:
    """List the rulebook versions of a run with their changes and dev scores."""
    from vietser.refine import RulebookHistory

    table = Table(title=f"rulebook history of {run_dir}")
    for column in ("version", "parent", "dev before", "dev after", "changes"):
        table.add_column(column)
    for entry in RulebookHistory(run_dir).entries():
        table.add_row(
            f"v{entry.version}",
            f"v{entry.parent}" if entry.parent else "",
            _score(entry.dev_before),
            _score(entry.dev_after),
            "; ".join(entry.changes) or entry.note,
        )
    console.print(table)


@rules_app.command("rollback")
def rollback(
    run_dir: RunArgument,
    version: Annotated[int, typer.Argument(help="Rulebook version to make current again.")],
) -> None:
    """Make an earlier rulebook version current (recorded as a new version; nothing is overwritten)."""
    from vietser.run.refine import rollback_run

    with user_errors():
        rulebook = rollback_run(run_dir, version)
    console.print(f"rulebook v{version} is current again as v{rulebook.version}; run `vietser evaluate {run_dir}`")


def register(app: typer.Typer) -> None:
    app.command()(analyse)
    app.command()(refine)
