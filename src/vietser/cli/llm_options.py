"""LLM settings on the command line: each option (or its ``VIETSER_LLM_*`` variable) merges into the run's
or the ``--config`` file's ``[llm]`` section; ``--llm local --llm-gguf PATH`` starts llama-server for the command."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from vietser.errors import ConfigError

if TYPE_CHECKING:  # the LLM client loads the openai SDK; only commands that reason need it
    from vietser.llm.client import LLMOverrides

LOCAL = "local"

LLMBackendOption = Annotated[
    Optional[str],
    typer.Option(
        "--llm",
        envvar="VIETSER_LLM",
        help="'local': start llama-server on a free loopback port with --llm-gguf for this command (offline).",
    ),
]
LLMGGUFOption = Annotated[
    Optional[Path],
    typer.Option("--llm-gguf", envvar="VIETSER_LLM_GGUF", help="GGUF model file for --llm local."),
]
LLMTimeoutOption = Annotated[
    Optional[float],
    typer.Option("--llm-timeout", envvar="VIETSER_LLM_TIMEOUT", help="Seconds per LLM request (default 300).", min=0.1),
]
LLMConcurrencyOption = Annotated[
    Optional[int],
    typer.Option(
        "--llm-concurrency", envvar="VIETSER_LLM_CONCURRENCY", help="LLM requests in flight (default 1).", min=1
    ),
]
LLMRetriesOption = Annotated[
    Optional[int],
    typer.Option("--llm-retries", envvar="VIETSER_LLM_RETRIES", help="Retries after a failed request (default 1).", min=0),
]
LLMMaxTokensOption = Annotated[
    Optional[int],
    typer.Option(
        "--llm-max-tokens",
        envvar="VIETSER_LLM_MAX_TOKENS",
        help="Answer token limit (default: what the longest answer the schema admits can take, about 2,500).",
        min=16,
    ),
]
LLMStructuredOutputOption = Annotated[
    Optional[str],
    typer.Option(
        "--llm-structured-output",
        envvar="VIETSER_LLM_STRUCTURED_OUTPUT",
        help="First response_format form tried: json_schema (default), json_object or none; "
        "a 400/422 moves to the next.",
    ),
]
LLMRevisionOption = Annotated[
    Optional[str],
    typer.Option(
        "--llm-revision",
        envvar="VIETSER_LLM_REVISION",
        help="What identifies the served weights in the call log (default: the server's /models entry).",
    ),
]

LLMBaselineOption = Annotated[
    Optional[int],
    typer.Option(
        "--llm-baseline",
        envvar="VIETSER_LLM_BASELINE",
        help="Score the LLM-only baseline on a seeded sample of N test clips (and estimate the router's LLM "
        "accuracy on N dev clips), so a CPU server finishes; 0 skips the baseline (default: every clip).",
        min=0,
    ),
]


@dataclass(frozen=True)
class LLMOptions:
    """The LLM options of one command line."""

    base_url: str | None = None
    model: str | None = None
    backend: str | None = None
    gguf: Path | None = None
    timeout_s: float | None = None
    concurrency: int | None = None
    max_retries: int | None = None
    max_tokens: int | None = None
    structured_output: str | None = None
    model_revision: str | None = None
    baseline_clips: int | None = None

    def overrides(self, base_url: str | None = None, model: str | None = None) -> LLMOverrides:
        """The settings these options give (``base_url``/``model`` replace the options' own)."""
        from vietser.llm.client import LLMOverrides

        try:
            return LLMOverrides(
                base_url=base_url or self.base_url,
                model=model or self.model,
                model_revision=self.model_revision,
                timeout_s=self.timeout_s,
                max_retries=self.max_retries,
                concurrency=self.concurrency,
                max_tokens=self.max_tokens,
                structured_output=self.structured_output,  # type: ignore[arg-type]
                baseline_clips=self.baseline_clips,
            )
        except ValueError as exc:
            raise ConfigError(f"invalid LLM option: {exc}") from exc


@contextmanager
def llm_session(options: LLMOptions) -> Iterator[LLMOverrides]:
    """The LLM settings of a command, with llama-server running for ``--llm local`` until the block ends.

    Raises:
        ConfigError: ``--llm`` is not ``local``, ``--llm local`` without ``--llm-gguf``, or with ``--llm-base-url``.
    """
    if options.backend is None:
        yield options.overrides()
        return
    if options.backend != LOCAL:
        raise ConfigError(f"--llm {options.backend!r} is not known; use --llm local --llm-gguf PATH, or --llm-base-url")
    if options.gguf is None:
        raise ConfigError("--llm local needs --llm-gguf PATH: the GGUF model file llama-server should serve")
    if options.base_url:
        raise ConfigError("--llm local starts its own server; leave out --llm-base-url (or drop --llm local)")
    from vietser.llm.local_server import LlamaServer

    with LlamaServer(options.gguf, slots=options.concurrency or 1) as server:
        yield options.overrides(server.base_url, options.model or server.model)
