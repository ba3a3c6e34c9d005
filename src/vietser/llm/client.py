"""Chat completions against any OpenAI-compatible endpoint, with counted retries.

vLLM, Ollama, the llama.cpp server and hosted APIs all speak the same wire
protocol, so one client built on the ``openai`` SDK serves them all. The SDK's
own retries are switched off: :class:`ChatClient` retries transient failures
itself (connection errors, HTTP 429 and 5xx with exponential backoff or the
server's ``Retry-After``; a timeout at most once, since a server that took
``timeout_s`` once is likely to take it again), so the attempts are counted
and a failure comes back as a reason instead of an exception.

The defaults suit a one-slot CPU server (llama.cpp on a laptop): one request
in flight, a patient timeout, one retry. Raise ``concurrency`` for vLLM or a
hosted API.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vietser.errors import ConfigError
from vietser.llm.schema import (
    CONNECTION_ERROR,
    INVALID_RESPONSE,
    SCHEMA_NAME,
    TIMEOUT,
    answer_token_bound,
    http_failure,
)

if TYPE_CHECKING:  # the SDK takes a second to import: only a client that sends requests loads it
    import openai
    from openai.types.chat import ChatCompletionMessageParam

logger = logging.getLogger(__name__)

StructuredOutput = Literal["json_schema", "json_object", "none"]
STRUCTURED_OUTPUTS: tuple[StructuredOutput, ...] = ("json_schema", "json_object", "none")

_RETRYABLE_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))
# A server that rejects a response_format answers one of these; the next weaker form is tried.
_FORMAT_REJECTED_STATUS = frozenset({400, 422})
MAX_RETRY_AFTER_S = 120.0
MAX_TIMEOUTS = 2
# The answer token limit for a schema that leaves a length unbounded (the refinement proposer's edit list).
UNBOUNDED_MAX_TOKENS = 512


class LLMConfig(BaseModel):
    """How to reach the LLM and how to call it.

    ``structured_output`` picks how the answer format is enforced:
    ``"json_schema"`` (strict JSON schema; OpenAI, vLLM, Ollama, llama.cpp),
    ``"json_object"`` (any JSON; the schema is only described in the prompt),
    ``"none"`` (no ``response_format`` at all, for servers that reject it).
    """

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="endpoint root, e.g. http://localhost:8000/v1")
    model: str = Field(min_length=1, description="model name as the server knows it")
    api_key_env: str = Field(default="VIETSER_LLM_API_KEY", description="environment variable holding the key")
    model_revision: str | None = Field(
        default=None,
        description="what identifies the served weights in the call log's key (e.g. a GGUF's sha256 or a "
        "commit); unset: read from the server's /models listing",
    )
    timeout_s: float = Field(default=300.0, gt=0, description="seconds for one request (a timeout is retried once)")
    max_retries: int = Field(default=1, ge=0, description="retries after the first attempt")
    backoff_s: float = Field(default=0.5, ge=0, description="wait before retry n is backoff_s * 2**(n-1)")
    concurrency: int = Field(default=1, ge=1, description="requests in flight at once (a CPU server has one slot)")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(
        default=None,
        ge=16,
        description="answer token limit; unset: the most tokens an answer the schema admits can take "
        "(about 2,500 for the reasoner's), so a valid answer is never cut",
    )
    structured_output: StructuredOutput = Field(
        default="json_schema", description="the first form tried; a 400/422 on it moves to the next, once per run"
    )
    seed: int | None = None
    baseline_clips: int | None = Field(
        default=None,
        ge=0,
        description="evaluate: the LLM-only baseline is scored on a seeded sample of this many test clips and "
        "the router's LLM accuracy estimated on as many dev clips (0: no LLM-only baseline); unset: every clip",
    )
    use_cache: bool = True
    cache_path: Path | None = Field(default=None, description="SQLite call log; default under VIETSER_CACHE_DIR")
    prompt_template: Path | None = Field(default=None, description="Jinja2 file replacing the user prompt")
    system_template: Path | None = Field(default=None, description="Jinja2 file replacing the system prompt")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, base_url: str) -> str:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"base_url {base_url!r} must be an http(s) URL of the OpenAI-compatible root, "
                "e.g. http://localhost:8000/v1 (vLLM) or http://localhost:11434/v1 (Ollama)"
            )
        return base_url.rstrip("/")

    @classmethod
    def from_env(cls, **overrides: Any) -> LLMConfig | None:
        """Read ``VIETSER_LLM_BASE_URL`` and ``VIETSER_LLM_MODEL``; ``None`` when no endpoint is set."""
        base_url = os.environ.get("VIETSER_LLM_BASE_URL", "").strip()
        if not base_url:
            return None
        model = os.environ.get("VIETSER_LLM_MODEL", "").strip()
        if not model and "model" not in overrides:
            raise ConfigError(
                f"VIETSER_LLM_BASE_URL is set to {base_url} but VIETSER_LLM_MODEL is not; "
                f"set it to the model name the server serves (GET {base_url}/models lists them)."
            )
        try:
            return cls(**{"base_url": base_url, "model": model, **overrides})
        except ValidationError as exc:
            raise ConfigError(f"LLM settings from the environment are invalid: {exc}") from exc

    def api_key(self) -> str:
        """The key from ``api_key_env``; local servers accept any placeholder."""
        return os.environ.get(self.api_key_env, "") or "not-needed"


class PromptTemplates(BaseModel):
    """The prompt template files the current call names (command-line options or a Python argument);
    they replace the template paths of the :class:`LLMConfig` used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system_template: Path | None = None
    prompt_template: Path | None = None

    def named(self) -> dict[str, Path]:
        """The templates given, by LLMConfig field name."""
        return {field: path for field, path in self if path is not None}


class LLMOverrides(BaseModel):
    """LLM settings one call gives (command-line options, ``VIETSER_LLM_*`` variables), merged into the
    ``[llm]`` section of a configuration: what is given replaces, what is not keeps the configured value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = None
    model: str | None = None
    model_revision: str | None = None
    timeout_s: float | None = None
    max_retries: int | None = None
    concurrency: int | None = None
    max_tokens: int | None = None
    structured_output: StructuredOutput | None = None
    baseline_clips: int | None = None

    def given(self) -> dict[str, Any]:
        """The settings given, by LLMConfig field name."""
        return {name: value for name, value in self if value is not None}

    def merged_into(self, base: LLMConfig | None) -> LLMConfig | None:
        """``base`` with these settings applied; ``None`` when neither names an endpoint (the rule engine reasons).

        Raises:
            ConfigError: an endpoint without a model name, or a setting out of range.
        """
        given = self.given()
        if base is None and "base_url" not in given:
            return None
        if base is None and "model" not in given:
            raise ConfigError(
                f"--llm-base-url {given['base_url']} needs --llm-model (or VIETSER_LLM_MODEL): the model name it serves"
            )
        data = {**(base.model_dump() if base is not None else {}), **given}
        try:
            return LLMConfig.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"llm.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"invalid LLM settings: {problems}") from exc


@dataclass(frozen=True)
class ChatReply:
    """One chat call after retries: the reply, or ``error`` naming why there is none.

    ``params`` are the request parameters of the last attempt (after any structured-output fallback).
    """

    content: str | None
    refusal: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    attempts: int
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


def max_tokens(config: LLMConfig, response_schema: dict[str, Any]) -> int:
    """The answer token limit sent: ``config.max_tokens`` when set, else the schema's
    :func:`~vietser.llm.schema.answer_token_bound`."""
    if config.max_tokens is not None:
        return config.max_tokens
    bound = answer_token_bound(response_schema)
    return UNBOUNDED_MAX_TOKENS if bound is None else bound


def _failure_of(exc: openai.OpenAIError) -> tuple[str, bool]:
    """The fallback reason of an SDK error and whether retrying may help."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return TIMEOUT, True
    if isinstance(exc, openai.APIConnectionError):
        return CONNECTION_ERROR, True
    if isinstance(exc, openai.APIStatusError):
        return http_failure(exc.status_code), exc.status_code in _RETRYABLE_STATUS
    return f"api error ({type(exc).__name__})", False


def retry_after_s(exc: openai.OpenAIError) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), capped; ``None`` without one."""
    import openai

    if not isinstance(exc, openai.APIStatusError):
        return None
    value = exc.response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _rejects_format(exc: openai.OpenAIError) -> bool:
    import openai

    return isinstance(exc, openai.APIStatusError) and exc.status_code in _FORMAT_REJECTED_STATUS


class ChatClient:
    """Sends chat messages to the configured endpoint; thread-safe.

    The structured-output form starts at ``config.structured_output``; when the server rejects it (HTTP
    400/422) the client moves to the next weaker one (json_schema → json_object → none) and keeps it for
    the rest of its life.
    """

    def __init__(self, config: LLMConfig) -> None:
        import openai

        self.config = config
        self._openai = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key(),
            timeout=config.timeout_s,
            max_retries=0,
        )
        self._forms = STRUCTURED_OUTPUTS[STRUCTURED_OUTPUTS.index(config.structured_output) :]
        self._lock = threading.Lock()
        self._served: str | None = None

    @property
    def structured_output(self) -> StructuredOutput:
        """The structured-output form requests use now."""
        with self._lock:
            return self._forms[0]

    def _degrade(self, rejected: StructuredOutput) -> bool:
        """Move past ``rejected`` (once, whichever thread sees the 400 first); False when nothing is left."""
        with self._lock:
            if self._forms[0] == rejected and len(self._forms) > 1:
                self._forms = self._forms[1:]
                logger.warning(
                    "the LLM server rejected response_format %s; using %s for the rest of this run",
                    rejected,
                    self._forms[0],
                )
            return self._forms[0] != rejected

    def served_model(self) -> str:
        """What identifies the served weights: ``config.model_revision``, else the server's /models entry
        for the model (or its only entry: llama.cpp serves one model whatever the name asked)."""
        if self.config.model_revision:
            return self.config.model_revision
        with self._lock:
            if self._served is None:
                self._served = self._list_model()
            return self._served

    def _list_model(self) -> str:
        import openai

        try:
            entries = list(self._openai.models.list())
        except (openai.OpenAIError, ValueError):
            return f"{self.config.model} (not listed)"
        named = [entry for entry in entries if entry.id == self.config.model]
        chosen = named or (entries if len(entries) == 1 else [])
        if not chosen:
            return f"{self.config.model} (not listed)"
        extra = chosen[0].model_extra or {}
        identity = {"id": chosen[0].id, "owned_by": chosen[0].owned_by, "meta": extra.get("meta")}
        return json.dumps(identity, sort_keys=True)

    def request_params(self, response_schema: dict[str, Any], schema_name: str = SCHEMA_NAME) -> dict[str, Any]:
        """Everything sent besides the messages, in the current structured-output form; also part of the
        cache key."""
        params: dict[str, Any] = {
            "model": self.config.model,
            "temperature": self.config.temperature,
            "max_tokens": max_tokens(self.config, response_schema),
        }
        if self.config.seed is not None:
            params["seed"] = self.config.seed
        form = self.structured_output
        if form == "json_schema":
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": response_schema, "strict": True},
            }
        elif form == "json_object":
            params["response_format"] = {"type": "json_object"}
        return params

    def complete(
        self, messages: list[dict[str, str]], response_schema: dict[str, Any], schema_name: str = SCHEMA_NAME
    ) -> ChatReply:
        """One chat completion: transient failures retried, a rejected response_format degraded."""
        import openai

        started = time.perf_counter()
        attempts = timeouts = 0
        while True:
            attempts += 1
            form = self.structured_output
            params = self.request_params(response_schema, schema_name)
            try:
                response = self._openai.chat.completions.create(
                    messages=cast("list[ChatCompletionMessageParam]", messages), **params
                )
            except openai.OpenAIError as exc:
                if form != "none" and _rejects_format(exc) and self._degrade(form):
                    continue
                reason, retryable = _failure_of(exc)
                timeouts += reason == TIMEOUT
                if not retryable or attempts > self.config.max_retries or timeouts >= MAX_TIMEOUTS:
                    return _failed(reason, started, attempts, params)
                wait = retry_after_s(exc)
                time.sleep(self.config.backoff_s * 2 ** (attempts - 1) if wait is None else wait)
                continue
            except ValueError:  # a 200 whose body is not JSON (e.g. a proxy's error page)
                return _failed(INVALID_RESPONSE, started, attempts, params)
            return _reply(response, started, attempts, params)


def _failed(reason: str, started: float, attempts: int, params: dict[str, Any]) -> ChatReply:
    return ChatReply(None, None, None, 0, 0, time.perf_counter() - started, attempts, error=reason, params=params)


def _reply(response: Any, started: float, attempts: int, params: dict[str, Any]) -> ChatReply:
    """Flatten an SDK response; one that is not a chat completion is an ``invalid response``."""
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        return _failed(INVALID_RESPONSE, started, attempts, params)
    choice, usage = choices[0], response.usage
    return ChatReply(
        content=choice.message.content,
        refusal=getattr(choice.message, "refusal", None),
        finish_reason=choice.finish_reason,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        latency_s=time.perf_counter() - started,
        attempts=attempts,
        params=params,
    )
