"""`vietser llm check`: probe an LLM endpoint (or a local llama-server) before a long run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from vietser.cli.console import console, err_console, user_errors
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
from vietser.cli.options import LLMBaseURLOption, LLMModelOption, RulebookOption
from vietser.errors import ConfigError

llm_app = typer.Typer(help="The LLM reasoner's endpoint.", no_args_is_help=True)


@llm_app.command()
def check(
    llm_base_url: LLMBaseURLOption = None,
    llm_model: LLMModelOption = None,
    llm: LLMBackendOption = None,
    llm_gguf: LLMGGUFOption = None,
    llm_timeout: LLMTimeoutOption = None,
    llm_concurrency: LLMConcurrencyOption = None,
    llm_retries: LLMRetriesOption = None,
    llm_max_tokens: LLMMaxTokensOption = None,
    llm_structured_output: LLMStructuredOutputOption = None,
    llm_revision: LLMRevisionOption = None,
    rulebook: RulebookOption = None,
    requests: Annotated[int, typer.Option(help="Real prompts to send (one at a time).", min=1)] = 3,
    config_path: Annotated[Optional[Path], typer.Option("--config", "-c", help="Run configuration with [llm].")] = None,
) -> None:
    """Models listed, the structured-output form that works, latency, tokens/s, context length, settings to use.

    Exit status 1 when no probe answer was usable.
    """
    from vietser.config import load_config
    from vietser.llm.check import check_endpoint
    from vietser.rules.rulebook import default_rulebook, load_rulebook

    with user_errors():
        options = LLMOptions(
            llm_base_url, llm_model, llm, llm_gguf, llm_timeout, llm_concurrency, llm_retries, llm_max_tokens,
            llm_structured_output, llm_revision,
        )
        configured = load_config(config_path).llm if config_path is not None else None
        with llm_session(options) as settings:
            config = settings.merged_into(configured)
            if config is None:
                raise ConfigError("nothing to check: give --llm-base-url and --llm-model, or --llm local --llm-gguf PATH")
            console.print(f"probing {config.base_url} ({config.model}) with {requests} real prompts …")
            result = check_endpoint(config, load_rulebook(rulebook) if rulebook else default_rulebook(), requests)
    table = Table(title="LLM endpoint check", show_header=False)
    table.add_row("models listed", ", ".join(result.models) or "(none)")
    table.add_row("structured output", result.structured_output or "none worked")
    table.add_row("usable answers", f"{result.answered} of {result.requests}")
    table.add_row("latency mean / p95", f"{result.mean_latency_s:.1f} s / {result.p95_latency_s:.1f} s")
    table.add_row("prompt tokens", str(result.prompt_tokens))
    table.add_row("generation", f"{result.completion_tokens_per_s:.1f} tokens/s")
    table.add_row("context length", str(result.context_length or "not reported"))
    table.add_row("answer token limit", f"{result.answer_tokens} (the longest valid answer fits)")
    table.add_row("parallel slots", str(result.slots or "not reported"))
    table.add_row("recommended", ", ".join(f"{k}={v}" for k, v in result.recommended.items()))
    console.print(table)
    for problem in result.problems:
        err_console.print(f"[bold red]problem:[/] {problem}")
    if not result.answered:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.add_typer(llm_app, name="llm")
