"""The `vietser` command line: thin commands that call the library and print with Rich."""

from __future__ import annotations

from typing import Annotated

import typer

from vietser import __version__
from vietser.cli.console import set_quiet
from vietser.cli import (
    adapt_command,
    calls_command,
    config_command,
    data_commands,
    demo_command,
    llm_commands,
    predict_command,
    refine_commands,
    rules_commands,
    run_commands,
)

app = typer.Typer(
    name="vietser",
    help="Human-guided speech emotion recognition (calm / angry / panic), Vietnamese first.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"vietser {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars or step lines on stderr; results and errors only.")
    ] = False,
) -> None:
    """Human-guided speech emotion recognition (calm / angry / panic), Vietnamese first."""
    set_quiet(quiet)


data_commands.register(app)
run_commands.register(app)
predict_command.register(app)
demo_command.register(app)
rules_commands.register(app)
refine_commands.register(app)
adapt_command.register(app)
llm_commands.register(app)
calls_command.register(app)
config_command.register(app)

__all__ = ["app"]
