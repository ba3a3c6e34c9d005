"""The LLM's answer: its JSON schema, and turning a raw reply into a checked answer.

Every way a reply can be unusable has one fallback reason (the constants
below); :func:`parse_answer` returns it instead of raising, so the reasoner can
record it on the clip's result.

Unknown rule ids are *dropped*, not fatal: the label is still a valid answer,
so the clip keeps it; the dropped ids are returned for the usage summary and
the raw reply stays in the call log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vietser.labels import VIETNAMESE_NAMES

SCHEMA_NAME = "emotion_decision"

TIMEOUT = "timeout"
CONNECTION_ERROR = "connection error"
INVALID_RESPONSE = "invalid response"
EMPTY_RESPONSE = "empty response"
REFUSAL = "refusal"
MALFORMED_JSON = "malformed json"
TRUNCATED = "truncated at max_tokens"
SCHEMA_VIOLATION = "schema violation"
LABEL_NOT_IN_CLASSES = "label not in classes"
COPIED_PLACEHOLDER = "copied placeholder"

MAX_RULES_USED = 4
MAX_RULE_ID_CHARS = 48
MAX_RATIONALE_CHARS = 400
RATIONALE_HINT = "one to three sentences citing the evidence"


def http_failure(status: int) -> str:
    """The fallback reason for an HTTP error status, e.g. ``"http 500"``."""
    return f"http {status}"


class LLMAnswer(BaseModel):
    """What the LLM must return for one clip."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(max_length=32, description="one of the class labels")
    confidence: float = Field(ge=0.0, le=1.0, description="how sure the decision is, 0..1")
    # Bounded: unbounded, a small model repeats one id until max_tokens. Each id is bounded by the
    # rulebook's enum in the schema sent (induced ids run to 90 characters and more).
    rules_used: list[str] = Field(max_length=MAX_RULES_USED, description="ids of the rules that drove the decision")
    rationale: str = Field(min_length=1, max_length=MAX_RATIONALE_CHARS, description=RATIONALE_HINT)


@dataclass(frozen=True)
class ParsedAnswer:
    """A checked reply: ``answer`` when usable, otherwise ``failure`` says why not."""

    answer: LLMAnswer | None
    failure: str | None = None
    dropped_rule_ids: tuple[str, ...] = ()


def answer_json_schema(
    classes: Sequence[str], rule_ids: Sequence[str], citable: Sequence[str] | None = None
) -> dict[str, Any]:
    """The JSON schema sent as ``response_format``: :class:`LLMAnswer` with enums filled in; with
    ``citable`` (the rules that hold or nearly hold on one clip), ``rules_used`` allows only those, and
    none when it is empty."""
    schema = LLMAnswer.model_json_schema()
    schema["properties"]["label"]["enum"] = list(classes)
    items = schema["properties"]["rules_used"]["items"]
    if rule_ids:
        items["enum"] = list(rule_ids)
    else:
        items["maxLength"] = MAX_RULE_ID_CHARS
    if citable:
        items["enum"] = list(citable)
    elif citable is not None:
        schema["properties"]["rules_used"]["maxItems"] = 0
    return schema


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def _json_text(content: str) -> str:
    """The JSON object inside a reply, without a Markdown code fence or surrounding prose."""
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0:
        return text
    return text[start : end + 1] if end > start else text[start:]


def _canonical_label(label: str, classes: Sequence[str]) -> str | None:
    """Map ``" Angry "`` or a Vietnamese name (``"tức giận"``) onto a class; ``None`` if neither."""
    wanted = label.strip().casefold()
    for name in classes:
        if wanted in (name.casefold(), VIETNAMESE_NAMES.get(name, name).casefold()):
            return name
    return None


def _decode(content: str | None, refusal: str | None, finish_reason: str | None) -> tuple[Any, str | None]:
    """The decoded JSON value and ``None``, or ``None`` and the failure reason."""
    if refusal or finish_reason == "content_filter":
        return None, REFUSAL
    if content is None or not content.strip():
        return None, EMPTY_RESPONSE
    try:
        return json.loads(_json_text(content)), None
    except json.JSONDecodeError:
        pass
    if "{" not in content:
        # Prose where JSON was required ("I can't help with that") is a refusal in effect.
        return None, REFUSAL
    return None, TRUNCATED if finish_reason == "length" else MALFORMED_JSON


def is_placeholder(rationale: str) -> bool:
    """Whether a rationale is the prompt's placeholder or the schema's description copied, not an answer."""
    text = " ".join(rationale.casefold().split()).strip(" .\"'")
    return text.startswith("<") or text in (RATIONALE_HINT, "rationale", "...", "")


def parse_answer(
    content: str | None,
    *,
    classes: Sequence[str],
    rule_ids: Sequence[str],
    refusal: str | None = None,
    finish_reason: str | None = None,
) -> ParsedAnswer:
    """Check a raw chat reply against the answer schema, the classes and the rulebook."""
    decoded, failure = _decode(content, refusal, finish_reason)
    if failure is not None:
        return ParsedAnswer(None, failure)
    try:
        answer = LLMAnswer.model_validate(decoded)
    except ValidationError:
        return ParsedAnswer(None, SCHEMA_VIOLATION)
    label = _canonical_label(answer.label, classes)
    if label is None:
        return ParsedAnswer(None, LABEL_NOT_IN_CLASSES)
    if is_placeholder(answer.rationale):
        return ParsedAnswer(None, COPIED_PLACEHOLDER)
    known = set(rule_ids)
    kept = [rule_id for rule_id in answer.rules_used if rule_id in known]
    dropped = tuple(rule_id for rule_id in answer.rules_used if rule_id not in known)
    return ParsedAnswer(answer.model_copy(update={"label": label, "rules_used": kept}), None, dropped)
