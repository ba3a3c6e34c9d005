"""Rulebook commands: check, show, induce from annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from vietser.cli.console import console, user_errors

rules_app = typer.Typer(help="Rulebooks: validate, show, induce from annotations.", no_args_is_help=True)


@rules_app.command("validate")
def validate(path: Annotated[Path, typer.Argument(help="Rulebook YAML.")]) -> None:
    """Check a rulebook; errors name the rule id and field."""
    from vietser.rules.rulebook import load_rulebook

    with user_errors():
        rulebook = load_rulebook(path)
    console.print(f"{path}: valid rulebook '{rulebook.name}' v{rulebook.version}, {len(rulebook.rules)} rules")


@rules_app.command("show")
def show(
    path: Annotated[Optional[Path], typer.Argument(help="Rulebook YAML (default: the packaged rulebook).")] = None,
    language: Annotated[str, typer.Option(help="en or vi")] = "en",
) -> None:
    """Print a rulebook's rules as a table."""
    from vietser.rules.rulebook import default_rulebook, load_rulebook

    with user_errors():
        rulebook = load_rulebook(path) if path else default_rulebook()
    table = Table(title=f"{rulebook.name} v{rulebook.version}")
    for column in ("id", "rule", "weight", "provenance"):
        table.add_column(column)
    for rule in rulebook.rules:
        table.add_row(rule.id, rule.describe(language), f"{rule.weight:g}", rule.provenance)  # type: ignore[arg-type]
    console.print(table)


@rules_app.command("induce")
def induce(
    features_path: Annotated[Path, typer.Argument(metavar="FEATURES", help="Features table with labels / annotator columns.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Rulebook YAML to write.")],
    max_depth: Annotated[int, typer.Option(help="Depth of the one-vs-rest trees (conditions per rule).")] = 2,
    min_precision: Annotated[float, typer.Option(help="Minimum precision of a kept rule.")] = 0.6,
    split: Annotated[str, typer.Option(help="Rows to learn from (never induce on test).")] = "train",
) -> None:
    """Learn candidate rules from the annotators' majority labels, weighted by their agreement."""
    from vietser.features.extract import read_features
    from vietser.rules.induce import induce_rules
    from vietser.rules.rulebook import save_rulebook

    with user_errors():
        frame = read_features(features_path)
        if "split" in frame.columns:
            frame = frame[frame["split"] == split]
        result = induce_rules(frame, max_depth=max_depth, min_precision=min_precision)
        save_rulebook(result.rulebook, output)
    console.print(result.report)
    console.print(f"{len(result.rulebook.rules)} induced rules → {output} (edit it, then `vietser rules validate`)")


def review(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="Run directory with decisions.jsonl.")],
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but loopback needs --token; 0.0.0.0 and :: --allowed-host.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8765,
    token: Annotated[Optional[str], typer.Option(envvar="VIETSER_REVIEW_TOKEN", help="Reviewer token (≥16 chars).")] = None,
    allowed_host: Annotated[
        Optional[list[str]],
        typer.Option(
            metavar="NAME",
            help="A further host name clients use (repeatable), e.g. the reverse proxy's; requests under any "
            "name but loopback, --host and these get 400 (against DNS rebinding).",
        ),
    ] = None,
    allow_any_host: Annotated[
        bool,
        typer.Option("--allow-any-host", help="Accept every Host header; only behind a proxy that checks it."),
    ] = False,
    calls: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--calls",
            metavar="JSONL",
            help="Output of `vietser predict --segments` (repeatable): its segments join the review and each "
            "call gets a timeline page, /calls/CALL_ID.",
        ),
    ] = None,
) -> None:
    """Start the human review app for a run and print its URL."""
    from vietser.review import review_url, serve_review

    with user_errors():
        console.print(f"review app: {review_url(host, port, token)}  (Ctrl+C to stop)")
        serve_review(
            run_dir,
            host=host,
            port=port,
            token=token,
            extra_hosts=allowed_host or (),
            allow_any_host=allow_any_host,
            calls=calls or (),
        )


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
    app.command()(review)
