"""Shared Rich consoles, progress (a bar on a terminal, plain flushed lines into a file) and error handling.

Progress and step lines go to stderr through ``progress_console``; ``vietser --quiet``
silences them, leaving results and errors.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Callable

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from vietser.errors import VietserError

console = Console()
err_console = Console(stderr=True)
progress_console = Console(stderr=True)
PLAIN_EVERY_S = 10.0
"""Without a terminal, a progress line at most this often (and at the end)."""


def set_quiet(quiet: bool) -> None:
    """Silence (or restore) progress bars and step lines."""
    progress_console.quiet = quiet


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn a VietserError into a one-line message and exit code 2 instead of a traceback."""
    try:
        yield
    except VietserError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2) from exc


def format_seconds(seconds: float) -> str:
    """``4.2 s``, ``3 min 05 s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


@contextlib.contextmanager
def step(description: str) -> Iterator[None]:
    """Say what a long step does while it runs (a spinner with elapsed time on a terminal, a line into a
    file), then how long it took."""
    start = time.perf_counter()
    if progress_console.is_terminal:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=progress_console, transient=True
        ) as spinner:
            spinner.add_task(description, total=None)
            yield
    else:
        progress_console.print(f"{description} …")
        yield
    progress_console.print(f"[green]✓[/] {description} ({format_seconds(time.perf_counter() - start)})")


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """Yield a ``progress(done, total)`` callback: a Rich bar on a terminal, else a plain line every
    :data:`PLAIN_EVERY_S` seconds and at the end; then the step's time."""
    start = time.perf_counter()
    if progress_console.is_terminal:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=progress_console,
            transient=True,
        ) as bar:
            task = bar.add_task(description, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            yield update
    else:
        yield _plain_progress(description, start)
    progress_console.print(f"[green]✓[/] {description} ({format_seconds(time.perf_counter() - start)})")


def _plain_progress(description: str, start: float) -> Callable[[int, int], None]:
    last = [start]

    def update(done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - last[0] < PLAIN_EVERY_S:
            return
        last[0] = now
        share = f" ({done / total:.0%})" if total else ""
        progress_console.print(f"{description}: {done}/{total}{share}, {format_seconds(now - start)}")

    return update
