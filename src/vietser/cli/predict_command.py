"""`vietser predict`: decide new audio with a trained run — files, folders, or whole calls."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from vietser.cli.console import console, err_console, progress_bar, user_errors
from vietser.cli.calls_command import (
    ChannelNamesOption,
    SegmentsOption,
    SmoothingOption,
    TimelineOption,
    VadOption,
    call_config,
    predict_calls,
)
from vietser.cli.llm_options import (
    LLMBackendOption,
    LLMConcurrencyOption,
    LLMGGUFOption,
    LLMMaxTokensOption,
    LLMOptions,
    LLMRetriesOption,
    LLMRevisionOption,
    LLMStructuredOutputOption,
    LLMTimeoutOption,
    llm_session,
)
from vietser.cli.options import (
    LLMBaseURLOption,
    LLMModelOption,
    LLMPromptTemplateOption,
    LLMSystemTemplateOption,
    prompt_templates,
)
from vietser.cli.run_commands import print_outcomes

if TYPE_CHECKING:
    from vietser.run.predict import PredictResult

NOTHING_DECIDED_EXIT = 1


class OutputFormat(str, Enum):
    """How predict writes its decisions."""

    JSONL = "jsonl"
    CSV = "csv"


def predict(
    target: Annotated[Path, typer.Argument(metavar="FILE_OR_DIR", help="An audio file or a folder of audio files.")],
    run_dir: Annotated[Path, typer.Option("--run", help="Run directory with a trained, evaluated model.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Output file (default: stdout).")] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format", help="jsonl: one Decision per line, then the skipped entries; csv: one row per decision "
            "(p_<class> of the system that decided, acoustic_p_<class>), skipped entries only on stderr."
        ),
    ] = OutputFormat.JSONL,
    speaker_from: Annotated[str, typer.Option(help="'file': each file its own unknown speaker (normalised against the training corpus); 'folder': files in one folder share a speaker baseline.")] = "file",
    jobs: Annotated[int, typer.Option("--jobs", "-j")] = 1,
    llm_base_url: LLMBaseURLOption = None,
    llm_model: LLMModelOption = None,
    llm_system_template: LLMSystemTemplateOption = None,
    llm_prompt_template: LLMPromptTemplateOption = None,
    llm: LLMBackendOption = None,
    llm_gguf: LLMGGUFOption = None,
    llm_timeout: LLMTimeoutOption = None,
    llm_concurrency: LLMConcurrencyOption = None,
    llm_retries: LLMRetriesOption = None,
    llm_max_tokens: LLMMaxTokensOption = None,
    llm_structured_output: LLMStructuredOutputOption = None,
    llm_revision: LLMRevisionOption = None,
    priors: Annotated[
        Optional[str],
        typer.Option(
            help="Class priors of your audio, e.g. 'calm=0.9,angry=0.07,panic=0.03' for a call centre "
            "(classes left out share the rest), or 'auto' to estimate them from the files by EM "
            "(Saerens et al. 2002). Default: the training prior.",
        ),
    ] = None,
    reference: Annotated[
        Optional[Path],
        typer.Option(
            help="Folder of a few ordinary (calm) recordings of the same speaker, channel or domain: every "
            "file is read against them, as the training corpus' calm speech, instead of against its own "
            "speaker's clips or the training corpus.",
        ),
    ] = None,
    segments: SegmentsOption = False,
    channel_names: ChannelNamesOption = None,
    smoothing: SmoothingOption = 0.0,
    vad: VadOption = "webrtc",
    timeline: TimelineOption = None,
) -> None:
    """Classify new audio: one Decision per file as JSON Lines (label, probabilities, route, evidence, reasoner).

    Every entry that was not decided (unusable audio, broken links, link
    loops, folders named like audio, linked folders, which are not entered)
    gets a line {"path": ..., "skipped": true, "reason": ...} after the
    decisions, and is listed on stderr.

    With --segments each file is a whole call: one Decision per speech segment
    (with call_id, channel, start_s, end_s), then one call_summary line per call.

    Exit status: 0 when at least one file was decided; 1 when none could be;
    2 for a usage error or an unusable run directory.
    """
    from vietser.acoustic.priors import parse_priors
    from vietser.run.predict import load_predictor

    with user_errors():
        if speaker_from not in ("file", "folder"):
            raise typer.BadParameter("--speaker-from must be 'file' or 'folder'")
        templates = prompt_templates(llm_system_template, llm_prompt_template)
        target_priors = None if priors is None else "auto" if priors == "auto" else parse_priors(priors)
        options = LLMOptions(
            llm_base_url, llm_model, llm, llm_gguf, llm_timeout, llm_concurrency, llm_retries, llm_max_tokens,
            llm_structured_output, llm_revision,
        )
        with llm_session(options) as settings:
            predictor = load_predictor(run_dir, settings, templates, target_priors)
            with predictor.reasoner:
                if reference is not None:
                    for unusable in predictor.use_reference(reference, jobs):
                        err_console.print(f"[yellow]reference skipped[/] {unusable.path}: {unusable.reason}")
                if segments:
                    if output_format != OutputFormat.JSONL:
                        raise typer.BadParameter("--segments writes JSON Lines; leave out --format csv")
                    config = call_config(channel_names, smoothing, vad)
                    calls = predict_calls(predictor, target, config, jobs, output, timeline)
                    raise typer.Exit(code=0 if calls else NOTHING_DECIDED_EXIT)
                with progress_bar("predict") as progress:
                    result = predictor.predict_target(target, speaker_from, jobs, progress)  # type: ignore[arg-type]
    text = _prediction_lines(result) if output_format == OutputFormat.JSONL else _prediction_csv(result)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"{len(result.decisions)} decisions, {len(result.skipped)} skipped → {output}")
    for skipped in result.skipped:
        err_console.print(f"[yellow]skipped[/] {skipped.path}: {skipped.reason}")
    print_outcomes(result.decisions, "decided")
    err_console.print(f"decided {len(result.decisions)}, skipped {len(result.skipped)}")
    if result.without_baseline:
        err_console.print(
            f"[yellow]note:[/] {result.without_baseline} of {len(result.decisions)} files were read without a "
            "baseline of their speaker (each alone, against the training corpus). On speech of another language "
            "or channel such reads are not reliable: give each speaker several files with --speaker-from folder, "
            "or a few ordinary recordings of the domain with --reference DIR"
        )
    if not result.decisions:
        err_console.print(f"[bold red]error:[/] nothing in {target} could be decided; see the reasons above")
        raise typer.Exit(code=NOTHING_DECIDED_EXIT)


def _prediction_lines(result: PredictResult) -> str:
    """JSON Lines: one Decision per decided file, then one skipped record per entry not decided."""
    decided = [decision.model_dump_json() for decision in result.decisions]
    skipped = [
        json.dumps({"path": clip.path, "skipped": True, "reason": clip.reason}, ensure_ascii=False)
        for clip in result.skipped
    ]
    return "".join(f"{line}\n" for line in [*decided, *skipped])


def _prediction_csv(result: PredictResult) -> str:
    """CSV: one row per decided file (see :func:`vietser.decision_table.decisions_table`)."""
    from vietser.decision_table import decisions_table

    return decisions_table(result.decisions).to_csv(index=False)


def register(app: typer.Typer) -> None:
    app.command()(predict)
