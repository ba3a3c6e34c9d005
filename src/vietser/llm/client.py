"""Chat completions against any OpenAI-compatible endpoint, with counted retries.

vLLM, Ollama, the llama.cpp server and hosted APIs all speak the same wire
protocol, so one client built on the ``openai`` SDK serves them all. The SDK's
own retries are switched off: :class:`ChatClient` retries transient failures
itself (timeouts, connection errors, HTTP 429 and 5xx) with exponential
backoff, so the attempts are counted and a failure comes back as a reason
instead of an exception.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vietser.errors import ConfigError
from vietser.llm.schema import CONNECTION_ERROR, INVALID_RESPONSE, SCHEMA_NAME, TIMEOUT, http_failure

StructuredOutput = Literal["json_schema", "json_object", "none"]

_RETRYABLE_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


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
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=2, ge=0, description="retries after the first attempt")
    backoff_s: float = Field(default=0.5, ge=0, description="wait before retry n is backoff_s * 2**(n-1)")
    concurrency: int = Field(default=4, ge=1, description="requests in flight at once")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=16)
    structured_output: StructuredOutput = "json_schema"
    seed: int | None = None
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


@dataclass(frozen=True)
class ChatReply:
    """One chat call after retries: the reply, or ``error`` naming why there is none."""

    content: str | None
    refusal: str | None
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    attempts: int
    error: str | None = None


def _failure_of(exc: openai.OpenAIError) -> tuple[str, bool]:
    """The fallback reason of an SDK error and whether retrying may help."""
    if isinstance(exc, openai.APITimeoutError):
        return TIMEOUT, True
    if isinstance(exc, openai.APIConnectionError):
        return CONNECTION_ERROR, True
    if isinstance(exc, openai.APIStatusError):
        return http_failure(exc.status_code), exc.status_code in _RETRYABLE_STATUS
    return f"api error ({type(exc).__name__})", False


class ChatClient:
    """Sends chat messages to the configured endpoint; thread-safe."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._openai = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key(),
            timeout=config.timeout_s,
            max_retries=0,
        )

    def request_params(self, response_schema: dict[str, Any]) -> dict[str, Any]:
        """Everything sent besides the messages; also part of the cache key."""
        params: dict[str, Any] = {
            "model": self.config.model,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }
        if self.config.seed is not None:
            params["seed"] = self.config.seed
        if self.config.structured_output == "json_schema":
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": response_schema, "strict": True},
            }
        elif self.config.structured_output == "json_object":
            params["response_format"] = {"type": "json_object"}
        return params

    def complete(self, messages: list[dict[str, str]], params: dict[str, Any]) -> ChatReply:
        """One chat completion, retried with exponential backoff on transient failures."""
        started = time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            try:
                response = self._openai.chat.completions.create(
                    messages=cast("list[ChatCompletionMessageParam]", messages), **params
                )
            except openai.OpenAIError as exc:
                reason, retryable = _failure_of(exc)
                if not retryable or attempts > self.config.max_retries:
                    return _failed(reason, started, attempts)
                time.sleep(self.config.backoff_s * 2 ** (attempts - 1))
                continue
            except ValueError:  # a 200 whose body is not JSON (e.g. a proxy's error page)
                return _failed(INVALID_RESPONSE, started, attempts)
            return _reply(response, started, attempts)


def _failed(reason: str, started: float, attempts: int) -> ChatReply:
    return ChatReply(None, None, None, 0, 0, time.perf_counter() - started, attempts, error=reason)


def _reply(response: Any, started: float, attempts: int) -> ChatReply:
    """Flatten an SDK response; one that is not a chat completion is an ``invalid response``."""
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        return _failed(INVALID_RESPONSE, started, attempts)
    choice, usage = choices[0], response.usage
    return ChatReply(
        content=choice.message.content,
        refusal=getattr(choice.message, "refusal", None),
        finish_reason=choice.finish_reason,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        latency_s=time.perf_counter() - started,
        attempts=attempts,
    )
