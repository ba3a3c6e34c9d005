"""`vietser predict --segments` (whole calls: one Decision per segment, one summary per call) and `vietser serve`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from vietser.cli.console import console, err_console

if TYPE_CHECKING:
    from vietser.calls.call import CallConfig, CallResult
    from vietser.run.predict import Predictor

SegmentsOption = Annotated[
    bool,
    typer.Option(
        "--segments",
        help="Treat each file as a whole call: cut it into speech segments (VAD), decide each segment, "
        "and add one summary line per call. A stereo file is two speakers.",
    ),
]
ChannelNamesOption = Annotated[
    Optional[str],
    typer.Option(help="With --segments: a name per channel, e.g. 'agent,caller' (default left,right; mono: mono)."),
]
SmoothingOption = Annotated[
    float,
    typer.Option(
        help="With --segments: smooth probabilities over neighbouring segments with this time constant (s); 0 is off."
    ),
]
VadOption = Annotated[str, typer.Option(help="With --segments: voice activity detector, webrtc or praat.")]
TimelineOption = Annotated[
    Optional[Path], typer.Option(help="With --segments: write a timeline plot (PNG) per call into this folder.")
]


def call_config(channel_names: str | None, smoothing: float, vad: str) -> CallConfig:
    """The CallConfig of the command-line options.

    Raises:
        ConfigError: an unknown VAD or a negative smoothing constant.
    """
    from pydantic import ValidationError

    from vietser.calls.call import CallConfig
    from vietser.errors import ConfigError

    names = None if channel_names is None else tuple(name.strip() for name in channel_names.split(",") if name.strip())
    try:
        return CallConfig(channel_names=names, smoothing_s=smoothing, segmentation={"vad": vad})
    except ValidationError as exc:
        raise ConfigError(f"--vad is webrtc or praat and --smoothing at least 0: {exc.errors()[0]['msg']}") from exc


def predict_calls(
    predictor: Predictor, target: Path, config: CallConfig, jobs: int, output: Path | None, timeline: Path | None
) -> int:
    """Decide every call under ``target`` and write JSON Lines; returns how many calls could be read."""
    from vietser.calls.call import decide_call
    from vietser.errors import AudioError
    from vietser.run.predict import list_audio

    listing = list_audio(target)
    lines: list[str] = []
    read = 0
    for path in listing.files:
        try:
            result = decide_call(predictor, path, config, jobs)
        except AudioError as exc:
            lines.append(json.dumps({"path": str(path), "skipped": True, "reason": str(exc)}, ensure_ascii=False))
            err_console.print(f"[yellow]skipped[/] {path}: {exc}")
            continue
        read += 1
        lines += call_lines(result)
        _report(result, timeline)
    lines += [
        json.dumps({"path": s.path, "skipped": True, "reason": s.reason}, ensure_ascii=False) for s in listing.skipped
    ]
    text = "".join(f"{line}\n" for line in lines)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"{read} call(s) → {output}")
    return read


def call_lines(result: CallResult) -> list[str]:
    """One JSON line per segment Decision, then the call's summary line."""
    return [decision.model_dump_json() for decision in result.decisions] + [result.summary.model_dump_json()]


def _report(result: CallResult, timeline: Path | None) -> None:
    summary = result.summary
    speakers = ", ".join(
        f"{s.channel}: {s.segments} segment(s)" + (" (silent)" if s.silent else "") for s in summary.speakers
    )
    err_console.print(f"{summary.call_id}: {summary.duration_s:.0f} s, {speakers}")
    for note in summary.notes:
        err_console.print(f"[yellow]note[/] {summary.call_id}: {note}")
    if timeline is not None:
        from vietser.calls.plot import plot_timeline

        timeline.mkdir(parents=True, exist_ok=True)
        err_console.print(f"timeline: {plot_timeline(result, timeline / f'{summary.call_id}.png')}")


def serve(
    run_dir: Annotated[Path, typer.Option("--run", help="Run directory with a trained, evaluated model.")],
    host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    allowed_host: Annotated[
        Optional[list[str]],
        typer.Option(help="Another host name clients use (repeatable); loopback names are always allowed."),
    ] = None,
) -> None:
    """Serve the run over HTTP: /predict, /health, OpenAPI at /docs, and live calls on the WebSocket /calls/{call_id}."""
    import uvicorn

    from vietser.cli.console import user_errors
    from vietser.run.predict import load_predictor
    from vietser.serve import LOOPBACK_HOSTS, create_app

    with user_errors():
        predictor = load_predictor(run_dir)
    console.print(f"serving {run_dir} on http://{host}:{port} (OpenAPI: /docs)")
    hosts = (*LOOPBACK_HOSTS, host, *(allowed_host or []))
    uvicorn.run(create_app(predictor, run_dir.name, hosts), host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command()(serve)
