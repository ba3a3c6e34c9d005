from __future__ import annotations

import json

import pytest

from vietser.labels import CLASSES
from vietser.llm.schema import (
    EMPTY_RESPONSE,
    LABEL_NOT_IN_CLASSES,
    MALFORMED_JSON,
    REFUSAL,
    SCHEMA_VIOLATION,
    TRUNCATED,
    ParsedAnswer,
    answer_json_schema,
    parse_answer,
)

RULES = ("panic-fast", "angry-loud")


def answer(**fields: object) -> str:
    base = {"label": "panic", "confidence": 0.7, "rules_used": ["panic-fast"], "rationale": "fast speech"}
    return json.dumps({**base, **fields}, ensure_ascii=False)


def parse(content: str | None, refusal: str | None = None, finish_reason: str | None = None) -> ParsedAnswer:
    return parse_answer(content, classes=CLASSES, rule_ids=RULES, refusal=refusal, finish_reason=finish_reason)


def test_valid_answer_is_accepted_as_given() -> None:
    parsed = parse(answer())
    assert parsed.failure is None
    assert parsed.answer is not None
    assert (parsed.answer.label, parsed.answer.confidence, parsed.answer.rules_used) == ("panic", 0.7, ["panic-fast"])


@pytest.mark.parametrize("label", [" Angry ", "ANGRY", "tức giận"])
def test_label_in_other_case_or_vietnamese_maps_onto_the_class(label: str) -> None:
    parsed = parse(answer(label=label))
    assert parsed.answer is not None and parsed.answer.label == "angry"


def test_unknown_rule_ids_are_dropped_and_reported() -> None:
    parsed = parse(answer(rules_used=["panic-fast", "made-up-rule"]))
    assert parsed.answer is not None and parsed.answer.rules_used == ["panic-fast"]
    assert parsed.dropped_rule_ids == ("made-up-rule",)


def test_json_inside_a_markdown_fence_is_accepted() -> None:
    parsed = parse(f"```json\n{answer()}\n```")
    assert parsed.answer is not None and parsed.answer.label == "panic"


def test_json_after_a_sentence_of_prose_is_accepted() -> None:
    parsed = parse(f"Here is my answer: {answer()}")
    assert parsed.answer is not None


@pytest.mark.parametrize(
    ("content", "kwargs", "reason"),
    [
        ('{"label": "calm", "confid', {}, MALFORMED_JSON),
        ('{"label": "calm", "confid', {"finish_reason": "length"}, TRUNCATED),
        ("I can't help with that.", {}, REFUSAL),
        (None, {"refusal": "I must decline."}, REFUSAL),
        (answer(), {"finish_reason": "content_filter"}, REFUSAL),
        ("", {}, EMPTY_RESPONSE),
        (None, {}, EMPTY_RESPONSE),
        (answer(label="happy"), {}, LABEL_NOT_IN_CLASSES),
        (answer(confidence=1.5), {}, SCHEMA_VIOLATION),
        (answer(mood="bad"), {}, SCHEMA_VIOLATION),
        ('{"label": "calm"}', {}, SCHEMA_VIOLATION),
        ("[1, 2]", {}, SCHEMA_VIOLATION),
    ],
)
def test_unusable_reply_names_its_failure(content: str | None, kwargs: dict[str, str], reason: str) -> None:
    parsed = parse(content, **kwargs)
    assert parsed.answer is None
    assert parsed.failure == reason


def test_json_schema_is_strict_with_class_and_rule_enums() -> None:
    schema = answer_json_schema(CLASSES, RULES)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"label", "confidence", "rules_used", "rationale"}
    assert schema["properties"]["label"]["enum"] == list(CLASSES)
    assert schema["properties"]["rules_used"]["items"]["enum"] == list(RULES)


def test_json_schema_without_rules_leaves_rule_ids_free() -> None:
    schema = answer_json_schema(CLASSES, ())
    assert "enum" not in schema["properties"]["rules_used"]["items"]


def test_a_long_induced_rule_id_is_a_valid_citation() -> None:
    from vietser.llm.schema import answer_json_schema, parse_answer

    long_id = "induced-calm-f0semitonefrom27-5hz-sma3nz-percentile50-0-low-logrelf0-h1-a3-sma3nz-amean-high"
    content = json.dumps({"label": "calm", "confidence": 0.8, "rules_used": [long_id], "rationale": "low pitch"})
    parsed = parse_answer(content, classes=["calm", "angry", "panic"], rule_ids=[long_id])
    assert parsed.failure is None and parsed.answer is not None and parsed.answer.rules_used == [long_id]
    items = answer_json_schema(["calm"], [long_id])["properties"]["rules_used"]["items"]
    assert items == {"type": "string", "enum": [long_id]}


def test_the_schema_bounds_the_arrays_and_strings_a_model_could_repeat() -> None:
    from vietser.llm.schema import MAX_RULES_USED, answer_json_schema

    properties = answer_json_schema(["calm"], [])["properties"]
    assert properties["rules_used"]["maxItems"] == MAX_RULES_USED
    assert "maxLength" in properties["rules_used"]["items"] and "maxLength" in properties["rationale"]


# The most whitespace llama.cpp's JSON grammar allows between two tokens: "\n"{1,2} [ \t]{0,20}.
GAP = "\n\n" + " \t" * 10


def longest_answer(rule_ids: list[str]) -> str:
    """The longest reply the answer schema admits under llama.cpp's grammar: every gap at its widest, a
    16.16e16-digit number, the longest enum values, and the rationale all \\uXXXX escapes."""
    from vietser.llm.schema import MAX_RATIONALE_CHARS, MAX_RULES_USED

    def pair(key: str, value: str) -> str:
        return f'"{key}"{GAP}:{GAP}{value}{GAP}'

    label = max(CLASSES, key=len)
    rules = f",{GAP}".join(f'"{max(rule_ids, key=len)}"{GAP}' for _ in range(MAX_RULES_USED))
    parts = [
        pair("label", f'"{label}"'),
        pair("confidence", "0.1234567890123456e-1234567890123456"),
        pair("rules_used", f"[{GAP}{rules}]"),
        pair("rationale", '"' + "\\u1ecd" * MAX_RATIONALE_CHARS + '"'),
    ]
    return "{" + GAP + f",{GAP}".join(parts) + "}" + GAP


def test_the_token_bound_holds_the_longest_valid_answer_spelt_one_byte_per_token() -> None:
    from vietser.llm.schema import END_TOKENS, MAX_RATIONALE_CHARS, answer_token_bound

    rule_ids = [f"R{i}" for i in range(1, 13)]
    content = longest_answer(rule_ids)
    parsed = parse_answer(content, classes=CLASSES, rule_ids=rule_ids)
    assert parsed.failure is None and parsed.answer is not None
    assert parsed.answer.rationale == "ọ" * MAX_RATIONALE_CHARS
    bound = answer_token_bound(answer_json_schema(CLASSES, rule_ids))
    assert bound is not None
    assert len(content.encode("utf-8")) + END_TOKENS <= bound <= len(content.encode("utf-8")) + END_TOKENS + 200


def test_the_token_bound_shrinks_with_the_rules_a_clip_may_cite() -> None:
    from vietser.llm.schema import answer_token_bound

    rule_ids = [f"R{i}" for i in range(1, 13)]
    every, some, none = (answer_token_bound(answer_json_schema(CLASSES, rule_ids, c)) for c in (None, ["R1"], []))
    assert every is not None and some is not None and none is not None
    assert none < some < every


def test_a_schema_that_leaves_a_length_unbounded_has_no_token_bound() -> None:
    from vietser.llm.schema import answer_token_bound

    schema = answer_json_schema(CLASSES, ())
    assert answer_token_bound(schema) is not None
    del schema["properties"]["rationale"]["maxLength"]
    assert answer_token_bound(schema) is None
    assert answer_token_bound({"type": "object", "properties": {}}) is None  # extra keys allowed
    node = {"type": "object", "additionalProperties": False, "properties": {"next": {"$ref": "#/$defs/Node"}}}
    assert answer_token_bound({"$defs": {"Node": node}, "$ref": "#/$defs/Node"}) is None  # recursive


def test_a_choice_is_bounded_by_its_longest_option() -> None:
    from vietser.llm.schema import answer_token_bound

    short, long = {"type": "boolean"}, {"type": "string", "maxLength": 30}
    assert answer_token_bound({"anyOf": [short, long]}) == answer_token_bound(long) > answer_token_bound(short)
