"""`vietser adapt`: a trained run adapted to the user's audio (unlabelled) and a few labelled clips."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vietser.cli.console import console, err_console, user_errors


def adapt(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="Run directory from `vietser train` / `run`.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="New run directory for the adapted run.")],
    audio: Annotated[
        Optional[Path],
        typer.Option(
            help="Unlabelled audio of your domain: a folder of audio files or a manifest (path column). Clips of "
            "speakers with too few recordings are then read against these instead of the training corpus.",
        ),
    ] = None,
    labels: Annotated[
        Optional[Path],
        typer.Option(help="Labelled clips of your domain (a manifest; e.g. exported from the review app)."),
    ] = None,
    weight: Annotated[
        Optional[int], typer.Option(help="How many times each labelled clip counts in the refit (default 80).")
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Parallel feature workers.")] = 1,
) -> None:
    """Adapt RUN to your domain into a new run directory; the source run is left as it is."""
    from vietser.run.adapt import adapt_run
    from vietser.data.manifest import load_manifest

    with user_errors():
        result = adapt_run(
            run_dir,
            output,
            audio=None if audio is None else _unlabelled(audio),
            labels=None if labels is None else load_manifest(labels, default_split="train"),
            **({} if weight is None else {"weight": weight}),
            jobs=jobs,
        )
    for clip in result.skipped:
        err_console.print(f"[yellow]skipped[/] {clip.path}: {clip.reason}")
    console.print(
        f"adapted run: {result.run_dir} ({result.reference} unlabelled reference clips, "
        f"{result.labelled} labelled clips ×{result.weight}); router and rules are the source run's"
    )


def _unlabelled(source: Path):  # noqa: ANN202 - DataFrame
    import pandas as pd

    from vietser.run.predict import list_audio

    if source.is_dir():
        paths = [str(path.resolve()) for path in list_audio(source).files]
    else:
        table = pd.read_json(source, lines=True) if source.suffix == ".jsonl" else pd.read_csv(source)
        paths = [str((source.parent / path).resolve()) for path in table["path"].astype(str)]
    return pd.DataFrame({"clip_id": paths, "path": paths, "speaker": ""})


def register(app: typer.Typer) -> None:
    app.command()(adapt)
