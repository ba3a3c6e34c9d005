"""The `vietser` command line: thin commands that call the library and print with Rich."""

from __future__ import annotations

import typer

from vietser.cli import (
    adapt_command,
    calls_command,
    data_commands,
    demo_command,
    llm_commands,
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
data_commands.register(app)
run_commands.register(app)
demo_command.register(app)
rules_commands.register(app)
refine_commands.register(app)
adapt_command.register(app)
llm_commands.register(app)
calls_command.register(app)

__all__ = ["app"]
