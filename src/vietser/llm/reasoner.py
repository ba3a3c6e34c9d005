"""The LLM reasoner: ambiguous clips are decided by an LLM reading their evidence under a rulebook.

Each request becomes two chat messages (:mod:`vietser.llm.prompt`). Replies are
validated (:mod:`vietser.llm.schema`); successful ones are logged and replayed
from the SQLite call log (:mod:`vietser.llm.cache`). Any failure keeps the
acoustic model's label, with ``fallback=True``, ``reasoner="acoustic"`` and the
reason. Example::

    config = LLMConfig(base_url="http://localhost:8000/v1", model="Qwen/Qwen2.5-7B-Instruct")
    with LLMReasoner(config, default_rulebook()) as reasoner:
        results = reasoner.reason(requests)
        reasoner.usage.cache_hits
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from statistics import fmean
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from vietser.decision import ReasonerName
from vietser.labels import CLASSES
from vietser.llm.chat import Checked, LoggedChat, Turn
from vietser.llm.client import LLMConfig, max_tokens
from vietser.llm.prompt import PromptBuilder
from vietser.llm.schema import (
    EMPTY_RESPONSE,
    ParsedAnswer,
    answer_json_schema,
    answer_token_bound,
    parse_answer,
)
from vietser.reasoning import ReasoningRequest, ReasoningResult
from vietser.rules.rulebook import Rulebook

logger = logging.getLogger(__name__)


class LLMUsage(BaseModel):
    """What the reasoner has spent so far; tokens and latency count live calls only."""

    requests: int = 0
    cache_hits: int = 0
    calls: int = 0
    fallbacks: int = 0
    failures: dict[str, int] = {}
    dropped_rule_ids: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    mean_latency_s: float = 0.0
    p50_latency_s: float = 0.0
    p95_latency_s: float = 0.0
    short_prompts: int = Field(default=0, description="replies whose prompt-token count says the server cut the prompt")
    structured_output: str = Field(default="", description="the response_format form in use at the end")

    @property
    def fallback_share(self) -> float:
        """Share of requests whose answer was unusable."""
        return self.fallbacks / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class _Outcome:
    """One answered request, for the usage summary."""

    failure: str | None
    dropped_rule_ids: int
    turn: Turn[ParsedAnswer]


def _summarise(outcomes: Sequence[_Outcome], structured_output: str) -> LLMUsage:
    live = [o.turn for o in outcomes if not o.turn.replayed]
    latencies = [turn.latency_s for turn in live]
    failures = Counter(o.failure for o in outcomes if o.failure is not None)
    p50, p95 = np.percentile(latencies, [50, 95]) if latencies else (0.0, 0.0)
    return LLMUsage(
        requests=len(outcomes),
        cache_hits=len(outcomes) - len(live),
        calls=sum(turn.attempts for turn in live),
        fallbacks=sum(failures.values()),
        failures=dict(failures),
        dropped_rule_ids=sum(o.dropped_rule_ids for o in outcomes),
        prompt_tokens=sum(turn.prompt_tokens for turn in live),
        completion_tokens=sum(turn.completion_tokens for turn in live),
        mean_latency_s=fmean(latencies) if latencies else 0.0,
        p50_latency_s=float(p50),
        p95_latency_s=float(p95),
        short_prompts=sum(turn.short_prompt for turn in live),
        structured_output=structured_output,
    )


def acoustic_fallback(probabilities: dict[str, float], classes: Sequence[str], reason: str) -> ReasoningResult:
    """The acoustic model's decision (first class wins ties), flagged as a fallback."""
    label = max(classes, key=lambda c: probabilities.get(c, 0.0))
    return ReasoningResult(
        label=label,
        confidence=min(max(probabilities.get(label, 0.0), 0.0), 1.0),
        rationale=f"LLM answer unusable ({reason}); the acoustic model's label is kept.",
        reasoner="acoustic",
        fallback=True,
        fallback_reason=reason,
    )


class LLMReasoner:
    """Decides ambiguous clips with an LLM; never drops a clip (failures fall back, flagged).

    Holds the call log open: close it with :meth:`close` or use the reasoner as a context manager.
    """

    name: ReasonerName = "llm"

    def __init__(self, config: LLMConfig, rulebook: Rulebook, classes: Sequence[str] = CLASSES) -> None:
        self.config = config
        self.rulebook = rulebook
        self.classes = tuple(classes)
        self._prompts = PromptBuilder(
            rulebook, self.classes, system_template=config.system_template, user_template=config.prompt_template
        )
        self._short_ids = self._prompts.short_ids
        # The model cites the short ids (the schema's enum); a full id is understood too.
        self._rule_ids = (*self._short_ids, *self._short_ids.values())
        schema = answer_json_schema(self.classes, list(self._short_ids))
        self._chat = LoggedChat(config, schema)
        self.cache = self._chat.cache
        # Every clip's schema is this one narrowed, so no clip's answer needs more.
        self.max_tokens = max_tokens(config, schema)
        bound = answer_token_bound(schema)
        if bound is not None and self.max_tokens < bound:
            logger.warning(
                "llm.max_tokens %d is below the %d tokens the longest valid answer can take: a long answer "
                "may be cut (and fall back, 'truncated at max_tokens'); leave it unset to send the bound",
                self.max_tokens,
                bound,
            )
        self._outcomes: list[_Outcome] = []
        self._lock = threading.Lock()

    @property
    def usage(self) -> LLMUsage:
        """Calls, cache hits, failures by reason, tokens and latency since construction."""
        with self._lock:
            return _summarise(self._outcomes, self._chat.structured_output)

    def messages(self, request: ReasoningRequest) -> list[dict[str, str]]:
        """The exact chat messages this reasoner sends for ``request``."""
        return self._prompts.messages(request)

    def reason(self, requests: Sequence[ReasoningRequest]) -> list[ReasoningResult]:
        """Answer every request, in order, with at most ``config.concurrency`` calls in flight."""
        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=min(self.config.concurrency, len(requests))) as pool:
            return list(pool.map(self._reason_one, requests))

    def close(self) -> None:
        """Close the call log."""
        self._chat.close()

    def __enter__(self) -> LLMReasoner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check(self, content: str | None, refusal: str | None, finish_reason: str | None) -> Checked[ParsedAnswer]:
        parsed = parse_answer(
            content, classes=self.classes, rule_ids=self._rule_ids, refusal=refusal, finish_reason=finish_reason
        )
        if parsed.answer is not None:
            cited = dict.fromkeys(self._short_ids.get(rule_id, rule_id) for rule_id in parsed.answer.rules_used)
            parsed = replace(parsed, answer=parsed.answer.model_copy(update={"rules_used": list(cited)}))
        logged = parsed.answer.model_dump() if parsed.answer is not None else None
        return Checked(parsed, parsed.failure, logged)

    def _reason_one(self, request: ReasoningRequest) -> ReasoningResult:
        messages, citable = self._prompts.prompt(request)
        schema = answer_json_schema(self.classes, list(self._short_ids), citable)
        turn = self._chat.ask(messages, self._check, schema)
        parsed, failure = turn.checked.value, turn.checked.failure
        with self._lock:
            self._outcomes.append(_Outcome(failure, len(parsed.dropped_rule_ids), turn))
        if failure is not None or parsed.answer is None:
            # parse_answer names every failure; the default only satisfies the type.
            reason = failure or EMPTY_RESPONSE
            return acoustic_fallback(request.probabilities, self.classes, reason).model_copy(update=_accounting(turn))
        if parsed.dropped_rule_ids:
            logger.info("LLM cited unknown rule ids %s; dropped them", ", ".join(parsed.dropped_rule_ids))
        return ReasoningResult(
            label=parsed.answer.label,
            confidence=parsed.answer.confidence,
            rules_used=parsed.answer.rules_used,
            rationale=parsed.answer.rationale,
            reasoner="llm",
            cached=turn.replayed,
            **_accounting(turn),
        )


def _accounting(turn: Turn[Any]) -> dict[str, Any]:
    """Tokens and latency of the call (for a replay: of the original call)."""
    return {"prompt_tokens": turn.prompt_tokens, "completion_tokens": turn.completion_tokens, "latency_s": turn.latency_s}
