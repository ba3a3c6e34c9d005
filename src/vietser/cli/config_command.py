"""`vietser config`: every run option with its default and one line of help, as TOML."""

from __future__ import annotations

import sys

import typer


def config() -> None:
    """Print every run option with its default and one line of help, as TOML to start a -c file from:
    `vietser config > vietser.toml`."""
    from vietser.config_toml import config_toml

    sys.stdout.write(config_toml())


def register(app: typer.Typer) -> None:
    app.command()(config)
