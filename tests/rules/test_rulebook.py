from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from vietser.errors import RulebookError
from vietser.features.catalog import describe
from vietser.labels import CLASSES
from vietser.rules.rulebook import (
    Condition,
    Rulebook,
    SupportedClass,
    default_rulebook,
    feature_info,
    load_rulebook,
    save_rulebook,
)


def _rule(rule_id: str = "panic-high-pitch", **changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": rule_id,
        "when": [{"feature": "prosody.f0_mean_st", "op": ">", "value": 1.0}],
        "supports": "panic",
        "weight": 1.0,
        "rationale": {"en": "High pitch.", "vi": "Cao độ cao."},
        "provenance": "person",
    }
    rule.update(changes)
    return rule


def _write(path: Path, rules: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"name": "t", "version": 1, "rules": rules}), encoding="utf-8")
    return path


def test_supported_classes_are_the_label_classes() -> None:
    assert get_args(SupportedClass) == CLASSES


def test_default_rulebook_has_bilingual_guideline_rules_for_every_class() -> None:
    rulebook = default_rulebook()

    assert 10 <= len(rulebook.rules) <= 18
    assert {rule.supports for rule in rulebook.rules} == set(CLASSES)
    assert all(rule.provenance == "guideline" for rule in rulebook.rules)
    assert all(rule.rationale.en.strip() and rule.rationale.vi.strip() for rule in rulebook.rules)


def test_default_rulebook_only_uses_catalogued_feature_columns() -> None:
    features = {c.feature for rule in default_rulebook().rules for c in rule.when if not c.on_transcript}

    assert all(describe(feature).column == feature for feature in features)


def test_save_then_load_round_trips_and_second_save_is_byte_identical(tmp_path: Path) -> None:
    first = save_rulebook(default_rulebook(), tmp_path / "a.yaml")
    reloaded = load_rulebook(first)
    second = save_rulebook(reloaded, tmp_path / "b.yaml")

    assert reloaded == default_rulebook()
    assert first.read_bytes() == second.read_bytes()


def test_saved_rulebook_keeps_vietnamese_text_readable(tmp_path: Path) -> None:
    path = save_rulebook(default_rulebook(), tmp_path / "rules.yaml")

    assert "hoảng loạn" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            [_rule(when=[{"feature": "prosody.f0_mean_st", "op": "=>", "value": 1}])],
            "rule 'panic-high-pitch': field 'when[0].op'",
        ),
        ([_rule(supports="sad")], "rule 'panic-high-pitch': field 'supports'"),
        ([_rule("dup"), _rule("dup")], "rule 'dup': field 'id'"),
        ([_rule(when=[])], "rule 'panic-high-pitch': field 'when'"),
        ([_rule(weight=0)], "rule 'panic-high-pitch': field 'weight'"),
        (
            [_rule(when=[{"feature": "prosody.f0_mean_st", "op": "between", "low": 1}])],
            "rule 'panic-high-pitch': field 'when[0]'",
        ),
        (
            [_rule(when=[{"feature": "z.prosody.f0_mean_st", "op": ">", "value": 1}])],
            "rule 'panic-high-pitch': field 'when[0].feature'",
        ),
        ([_rule(colour="red")], "rule 'panic-high-pitch': field 'colour'"),
        ([_rule("Panic High")], "rule 'Panic High': field 'id'"),
        (
            [_rule(when=[{"feature": "transcript", "op": "mentions", "phrases": []}])],
            "rule 'panic-high-pitch': field 'when[0].phrases'",
        ),
        (
            [_rule(when=[{"feature": "prosody.f0_mean_st", "op": "mentions", "phrases": ["cháy"]}])],
            "op 'mentions' goes with feature 'transcript'",
        ),
        (
            [_rule(when=[{"feature": "transcript", "op": ">", "value": 1}])],
            "op 'mentions' goes with feature 'transcript'",
        ),
    ],
    ids=[
        "bad-op",
        "unknown-class",
        "duplicate-id",
        "empty-when",
        "zero-weight",
        "between-without-high",
        "z-prefixed-feature",
        "unknown-key",
        "id-not-a-slug",
        "no-phrases",
        "mentions-on-a-feature",
        "transcript-compared-as-a-number",
    ],
)
def test_invalid_rule_is_rejected_naming_rule_and_field(
    tmp_path: Path, rules: list[dict[str, Any]], expected: str
) -> None:
    path = _write(tmp_path / "bad.yaml", rules)

    with pytest.raises(RulebookError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load_rulebook(path)


def test_rule_without_id_is_named_by_its_position(tmp_path: Path) -> None:
    rule = _rule()
    del rule["id"]
    path = _write(tmp_path / "bad.yaml", [_rule("first"), rule])

    with pytest.raises(RulebookError, match="rule #2: field 'id'"):
        load_rulebook(path)


def test_missing_rulebook_file_raises_rulebook_error(tmp_path: Path) -> None:
    with pytest.raises(RulebookError, match="cannot read rulebook"):
        load_rulebook(tmp_path / "absent.yaml")


def test_yaml_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")

    with pytest.raises(RulebookError, match="expected a mapping"):
        load_rulebook(path)


def test_condition_describes_speaker_relative_threshold_with_feature_name() -> None:
    condition = Condition(feature="prosody.speech_rate", op=">", value=1.0)
    name, _ = feature_info("prosody.speech_rate")

    assert condition.describe() == f"{name} > +1.0 SD (speaker-relative)"
    assert name != "prosody.speech_rate"


def test_raw_condition_describes_value_in_feature_unit() -> None:
    condition = Condition(feature="prosody.f0_mean_hz", op="<=", value=180.0, scale="raw")
    name, unit = feature_info("prosody.f0_mean_hz")

    assert condition.describe() == f"{name} <= 180 {unit}"


def test_unknown_feature_is_described_by_its_column_name() -> None:
    condition = Condition(feature="custom.tremor", op="between", low=-0.5, high=0.5)

    assert condition.describe() == "custom.tremor between -0.5 .. +0.5 SD (speaker-relative)"


def test_between_includes_both_bounds() -> None:
    condition = Condition(feature="prosody.speech_rate", op="between", low=-1.0, high=1.0)

    assert [condition.holds(v) for v in (-1.0, 1.0, 1.01)] == [True, True, False]


def test_rule_describe_reads_as_if_then() -> None:
    rulebook = Rulebook.model_validate({"name": "t", "version": 1, "rules": [_rule()]})
    name, _ = feature_info("prosody.f0_mean_st")

    assert rulebook.rules[0].describe() == (
        f"IF {name} > +1.0 SD (speaker-relative) THEN panic (+1)"
    )


def test_z_threshold_keeps_two_decimals_when_needed() -> None:
    condition = Condition(feature="custom.tremor", op=">=", value=0.99)

    assert condition.describe() == "custom.tremor >= +0.99 SD (speaker-relative)"


def test_vietnamese_rule_description_uses_vietnamese_names() -> None:
    rulebook = Rulebook.model_validate({"name": "t", "version": 1, "rules": [_rule()]})
    name_vi, _ = feature_info("prosody.f0_mean_st", "vi")

    assert rulebook.rules[0].describe("vi") == (
        f"NẾU {name_vi} > +1,0 SD (so với chính người nói) THÌ hoảng loạn (+1)"
    )


def test_vietnamese_description_writes_decimal_commas_english_points_and_yaml_plain_numbers(tmp_path: Path) -> None:
    when = [
        {"feature": "prosody.speech_rate", "op": "between", "low": -0.25, "high": 1.5},
        {"feature": "prosody.jitter_local", "op": "<", "value": 0.015, "scale": "raw"},
    ]
    path = _write(tmp_path / "decimals.yaml", [_rule(when=when, weight=1.5)])
    rule = load_rulebook(path).rules[0]

    vietnamese, english = rule.describe("vi"), rule.describe("en")
    save_rulebook(load_rulebook(path), tmp_path / "again.yaml")
    saved = yaml.safe_load((tmp_path / "again.yaml").read_text(encoding="utf-8"))["rules"][0]

    assert "-0,25 .. +1,5 SD" in vietnamese and "< 0,015" in vietnamese and vietnamese.endswith("(+1,5)")
    assert "-0.25 .. +1.5 SD" in english and "< 0.015" in english and english.endswith("(+1.5)")
    assert (saved["weight"], saved["when"][0]["low"], saved["when"][1]["value"]) == (1.5, -0.25, 0.015)


def test_default_rulebook_has_transcript_rules_for_panic_and_angry() -> None:
    heard = {rule.supports for rule in default_rulebook().rules if any(c.on_transcript for c in rule.when)}

    assert heard == {"panic", "angry"}


def test_transcript_condition_round_trips_with_vietnamese_phrases(tmp_path: Path) -> None:
    when = [{"feature": "transcript", "op": "mentions", "phrases": ["cứu với", "cháy rồi"]}]
    path = _write(tmp_path / "heard.yaml", [_rule(when=when)])

    rulebook = load_rulebook(path)
    save_rulebook(rulebook, tmp_path / "again.yaml")

    assert load_rulebook(tmp_path / "again.yaml") == rulebook
    assert "cứu với" in (tmp_path / "again.yaml").read_text(encoding="utf-8")
    assert rulebook.rules[0].describe() == 'IF transcript mentions "cứu với" or "cháy rồi" THEN panic (+1)'
    assert rulebook.rules[0].describe("vi").startswith('NẾU lời nói có "cứu với" hoặc "cháy rồi"')
