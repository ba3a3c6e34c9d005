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
# Three sentences. Each character may cost six tokens (a \uXXXX escape, one byte per token), so this bound
# sets most of the answer's token limit (:func:`answer_token_bound`).
MAX_RATIONALE_CHARS = 300
RATIONALE_HINT = "one to three sentences citing the evidence"

# What llama.cpp's JSON-schema grammar (common/json-schema-to-grammar.cpp, Ollama's too) lets a reply hold:
# whitespace between two JSON tokens ("\n"{1,2} [ \t]{0,20}), a number (16 digits before and after the
# point and in the exponent), and one string character (a \uXXXX escape).
MAX_SPACE_BYTES = 22
MAX_NUMBER_BYTES = 52
MAX_CHAR_BYTES = 6
# The end-of-turn token(s) a chat model emits after the JSON.
END_TOKENS = 4


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


def answer_token_bound(schema: dict[str, Any]) -> int | None:
    """The most tokens a reply ``schema`` admits can take, so a ``max_tokens`` of this never cuts a valid
    answer; ``None`` when the schema leaves a length unbounded.

    It counts bytes under llama.cpp's JSON grammar (the longest number, a ``\\uXXXX`` escape per string
    character, the most whitespace between tokens), since every token carries at least one byte and a
    constrained model may spell its reply one byte per token; plus the end-of-turn tokens.
    """
    size = _max_bytes(schema, schema.get("$defs", {}), frozenset())
    return None if size is None else size + END_TOKENS


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def _sequence_bytes(parts: Sequence[int]) -> int:
    """An object or array: the brackets, the parts and the commas between them, each followed by whitespace."""
    return 2 * (1 + MAX_SPACE_BYTES) + sum(parts) + max(len(parts) - 1, 0) * (1 + MAX_SPACE_BYTES)


def _max_bytes(schema: dict[str, Any], defs: dict[str, Any], refs: frozenset[str]) -> int | None:
    """The most bytes of a value ``schema`` admits, with the whitespace after it; ``None`` when unbounded
    (``refs``: the ``$ref`` definitions being expanded, so a recursive one is unbounded)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return None if name in refs else _max_bytes(defs.get(name, {}), defs, refs | {name})
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf", schema.get("oneOf"))
        bounds = [bound for option in options if (bound := _max_bytes(option, defs, refs)) is not None]
        return max(bounds) if len(bounds) == len(options) else None
    if "enum" in schema or "const" in schema:
        return max(_json_bytes(value) for value in schema.get("enum", [schema.get("const")])) + MAX_SPACE_BYTES
    kind = schema.get("type")
    if kind == "string":
        length = None if "pattern" in schema else schema.get("maxLength")  # llama.cpp: a pattern overrides it
        return None if length is None else 2 + length * MAX_CHAR_BYTES + MAX_SPACE_BYTES
    if kind in ("number", "integer"):
        return MAX_NUMBER_BYTES + MAX_SPACE_BYTES
    if kind in ("boolean", "null"):
        return len("false") + MAX_SPACE_BYTES
    if kind == "array":
        item = _max_bytes(schema.get("items", {}), defs, refs)
        count = schema.get("maxItems")
        return None if item is None or count is None else _sequence_bytes([item] * count)
    if kind == "object" and schema.get("additionalProperties") is False:
        pairs = []  # "key" whitespace ":" whitespace value
        for key, value in schema.get("properties", {}).items():
            bound = _max_bytes(value, defs, refs)
            if bound is None:
                return None
            pairs.append(_json_bytes(key) + 1 + 2 * MAX_SPACE_BYTES + bound)
        return _sequence_bytes(pairs)
    return None


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
