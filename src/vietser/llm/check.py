"""Probe an LLM endpoint before a long run: models, the structured-output form that works, speed,
context length and the settings to use.

The probe sends the reasoner's real prompt (the rulebook and a synthetic
clip), uncached, so its latency and token counts are those of a run::

    check = check_endpoint(LLMConfig(base_url="http://localhost:8080/v1", model="m"), default_rulebook())
    check.structured_output, check.recommended
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from vietser.decision import ClipEvidence
from vietser.labels import CLASSES
from vietser.llm.client import LLMConfig
from vietser.llm.prompt import KEY_FEATURES
from vietser.llm.reasoner import LLMReasoner
from vietser.reasoning import ReasoningRequest
from vietser.rules.rulebook import Rulebook


class EndpointCheck(BaseModel):
    """What the probe found; ``problems`` lists what will make a run fail or fall back."""

    models: list[str]
    structured_output: str | None
    answered: int
    requests: int
    failures: dict[str, int]
    mean_latency_s: float
    p95_latency_s: float
    prompt_tokens: int
    completion_tokens_per_s: float
    context_length: int | None
    answer_tokens: int
    slots: int | None
    recommended: dict[str, Any]
    problems: list[str]


def probe_requests(n: int) -> list[ReasoningRequest]:
    """``n`` distinct synthetic clips: key prosody z-scores from -2 to +2, acoustic probabilities unsure."""
    requests = []
    for index in range(n):
        shift = (index % 5) - 2
        z = {feature: float(shift) * (1 if i % 2 else -0.5) for i, feature in enumerate(KEY_FEATURES)}
        evidence = ClipEvidence(clip_id=f"probe-{index}", values={}, z=z)
        probabilities = {c: 1 / len(CLASSES) for c in CLASSES}
        requests.append(ReasoningRequest(evidence=evidence, probabilities=probabilities))
    return requests


def _root(base_url: str) -> str:
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url


def server_limits(config: LLMConfig) -> tuple[int | None, int | None]:
    """(context length, parallel slots) where the server tells them: llama.cpp ``/props``, Ollama ``/api/show``."""
    root = _root(config.base_url)
    try:
        props = httpx.get(f"{root}/props", timeout=10).json()
        settings = props.get("default_generation_settings", {})
        return settings.get("n_ctx"), props.get("total_slots")
    except (httpx.HTTPError, ValueError, AttributeError):
        pass
    try:
        info = httpx.post(f"{root}/api/show", json={"model": config.model}, timeout=10).json().get("model_info", {})
        lengths = [value for key, value in info.items() if key.endswith(".context_length")]
        return (int(lengths[0]) if lengths else None), None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None, None


def listed_models(config: LLMConfig) -> list[str]:
    """Model ids of ``GET /models`` (empty when the server lists none or cannot be reached)."""
    try:
        data = httpx.get(f"{config.base_url}/models", timeout=10).json().get("data", [])
    except (httpx.HTTPError, ValueError, AttributeError):
        return []
    return [str(entry.get("id")) for entry in data if isinstance(entry, dict)]


def check_endpoint(config: LLMConfig, rulebook: Rulebook, requests: int = 3) -> EndpointCheck:
    """Send ``requests`` real prompts one at a time (uncached, no retries) and read the server's limits."""
    probe = config.model_copy(update={"use_cache": False, "max_retries": 0, "concurrency": 1})
    with LLMReasoner(probe, rulebook) as reasoner:
        results = reasoner.reason(probe_requests(requests))
        usage = reasoner.usage
        answer_tokens = reasoner.max_tokens
    answered = sum(not result.fallback for result in results)
    context, slots = server_limits(config)
    generation_s = sum(result.latency_s for result in results if not result.fallback)
    completion = sum(result.completion_tokens for result in results if not result.fallback)
    prompt = max((result.prompt_tokens for result in results), default=0)
    problems = _problems(usage.failures, context, prompt, answer_tokens)
    return EndpointCheck(
        models=listed_models(config),
        structured_output=usage.structured_output if answered else None,
        answered=answered,
        requests=requests,
        failures=usage.failures,
        mean_latency_s=usage.mean_latency_s,
        p95_latency_s=usage.p95_latency_s,
        prompt_tokens=prompt,
        completion_tokens_per_s=completion / generation_s if generation_s else 0.0,
        context_length=context,
        answer_tokens=answer_tokens,
        slots=slots,
        recommended=_recommended(usage.structured_output, usage.p95_latency_s, slots, answered),
        problems=problems,
    )


def _recommended(form: str, p95_s: float, slots: int | None, answered: int) -> dict[str, Any]:
    settings: dict[str, Any] = {"concurrency": slots or 1, "max_retries": 1}
    if answered:
        settings["timeout_s"] = round(max(60.0, 4 * p95_s * (slots or 1)))
        settings["structured_output"] = form
    return settings


def _problems(failures: dict[str, int], context: int | None, prompt_tokens: int, answer_tokens: int) -> list[str]:
    problems = [f"{count} probe answers unusable: {reason}" for reason, count in failures.items()]
    if context is not None and prompt_tokens and context < prompt_tokens + answer_tokens:
        problems.append(
            f"context length {context} is shorter than the prompt ({prompt_tokens} tokens) plus the longest "
            f"answer (max_tokens {answer_tokens}); start the server with a longer context (llama-server -c 8192, "
            "OLLAMA_CONTEXT_LENGTH=8192)"
        )
    return problems
