"""One logged chat: replay a logged answer, else ask the endpoint, check the answer, log the call.

Both LLM users (the reasoner and the refinement proposer) go through
:class:`LoggedChat`, so every call is keyed, logged and replayed the same way::

    with LoggedChat(config, schema) as chat:
        turn = chat.ask(messages, check)
        turn.checked.value, turn.replayed

The call log's key covers the messages, every request parameter (the
structured-output form in use included) and the served model's identity
(:meth:`~vietser.llm.client.ChatClient.served_model`), so a model swapped
behind the same name is asked again instead of replayed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from vietser.llm.cache import CallRecord, ResponseCache, cache_key, default_cache_path
from vietser.llm.client import ChatClient, ChatReply, LLMConfig, StructuredOutput
from vietser.llm.schema import SCHEMA_NAME

logger = logging.getLogger(__name__)

T = TypeVar("T")

# No tokenizer packs more than about six characters of this prose-and-numbers prompt into one token;
# a server that counts fewer tokens than that cut the prompt (Ollama's default num_ctx does, silently).
MAX_CHARS_PER_TOKEN = 6


@dataclass(frozen=True)
class Checked(Generic[T]):
    """A reply as its user read it: ``value`` (also when unusable), ``failure`` naming why it is unusable,
    ``logged`` the JSON kept in the call log's ``parsed`` column."""

    value: T
    failure: str | None = None
    logged: dict[str, Any] | None = None


Check = Callable[[str | None, str | None, str | None], Checked[T]]
"""Reads ``(content, refusal, finish_reason)`` of a reply."""


@dataclass(frozen=True)
class Turn(Generic[T]):
    """One question answered: the checked reply and what it cost (for a replay: what the original call cost)."""

    checked: Checked[T]
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    attempts: int
    replayed: bool
    short_prompt: bool = False


def prompt_was_cut(messages: list[dict[str, str]], prompt_tokens: int) -> bool:
    """Whether the server counted far fewer prompt tokens than the messages can hold (silent truncation)."""
    sent = sum(len(message["content"]) for message in messages)
    return 0 < prompt_tokens and prompt_tokens * MAX_CHARS_PER_TOKEN < sent


class LoggedChat:
    """An endpoint and its call log, asked one question at a time; thread-safe, closed with ``with``."""

    def __init__(self, config: LLMConfig, response_schema: dict[str, Any], schema_name: str = SCHEMA_NAME) -> None:
        self.config = config
        self.client = ChatClient(config)
        self.cache = ResponseCache(config.cache_path or default_cache_path()) if config.use_cache else None
        self._schema = response_schema
        self._schema_name = schema_name

    @property
    def structured_output(self) -> StructuredOutput:
        """The structured-output form in use (it moves on when the server rejects one)."""
        return self.client.structured_output

    def ask(
        self, messages: list[dict[str, str]], check: Check[T], response_schema: dict[str, Any] | None = None
    ) -> Turn[T]:
        """The logged answer to ``messages`` when one passes ``check``, else a live call, checked and logged;
        ``response_schema`` replaces the chat's answer schema for this question (e.g. narrowed to one clip)."""
        schema = self._schema if response_schema is None else response_schema
        replayed = self._replay(messages, check, schema)
        if replayed is not None:
            return replayed
        reply = self.client.complete(messages, schema, self._schema_name)
        checked = check(reply.content, reply.refusal, reply.finish_reason)
        if reply.error is not None:
            checked = Checked(checked.value, reply.error)
        short = prompt_was_cut(messages, reply.prompt_tokens)
        if short:
            logger.warning(
                "the LLM server counted %d prompt tokens for %d characters: it probably cut the prompt "
                "(raise its context length, e.g. OLLAMA_CONTEXT_LENGTH=8192 or llama-server -c 8192)",
                reply.prompt_tokens,
                sum(len(message["content"]) for message in messages),
            )
        self._log(messages, reply, checked)
        return Turn(
            checked, reply.prompt_tokens, reply.completion_tokens, reply.latency_s, reply.attempts, False, short
        )

    def close(self) -> None:
        """Close the call log."""
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> LoggedChat:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _key_params(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "served_model": self.client.served_model()}

    def _replay(self, messages: list[dict[str, str]], check: Check[T], schema: dict[str, Any]) -> Turn[T] | None:
        if self.cache is None:
            return None
        params = self.client.request_params(schema, self._schema_name)
        hit = self.cache.get(cache_key(messages, self._key_params(params)))
        if hit is None:
            return None
        checked = check(hit.response, None, None)
        if checked.failure is not None:
            return None
        return Turn(checked, hit.prompt_tokens, hit.completion_tokens, hit.latency_s, 0, True)

    def _log(self, messages: list[dict[str, str]], reply: ChatReply, checked: Checked[Any]) -> None:
        if self.cache is None:
            return
        key_params = self._key_params(reply.params)
        request = {"messages": messages, "params": key_params}
        logged = checked.logged if checked.failure is None else None
        record = CallRecord.from_reply(
            cache_key(messages, key_params), self.config.model, request, reply, logged, checked.failure
        )
        self.cache.add(record)
