"""The rulebook: human-readable rules mapping feature conditions to emotion classes.

A rulebook is a YAML file validated into :class:`Rulebook`. Conditions name a
raw feature column (``prosody.f0_mean_st``) and by default compare the
clip's speaker-relative z-score of that column; ``scale: raw`` compares the
raw value instead. A condition on ``feature: transcript`` with ``op: mentions``
holds when the clip's transcript says one of its ``phrases`` (with or without
Vietnamese diacritics, not right after a negator; :mod:`vietser.rules.phrases`)::

    - feature: transcript
      op: mentions
      phrases: [cứu với, cháy]

Example::

    rulebook = load_rulebook("rulebook.yaml")
    for rule in rulebook.rules:
        print(rule.describe())
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from vietser.errors import RulebookError
from vietser.features.catalog import describe as describe_feature
from vietser.labels import VIETNAMESE_NAMES
from vietser.numerals import Language, localise, number
from vietser.rules.phrases import fold

SupportedClass = Literal["calm", "angry", "panic"]
Operator = Literal[">", ">=", "<", "<=", "between", "mentions"]
Provenance = Literal["guideline", "induced", "refined", "person"]

_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SPEAKER_RELATIVE = {"en": "SD (speaker-relative)", "vi": "SD (so với chính người nói)"}
_BETWEEN = {"en": "between", "vi": "trong khoảng"}
_AND = {"en": " and ", "vi": " và "}
_MENTIONS = {"en": "transcript mentions", "vi": "lời nói có"}
_OR = {"en": " or ", "vi": " hoặc "}
TRANSCRIPT = "transcript"


def feature_info(column: str, language: Language = "en") -> tuple[str, str]:
    """Human name (in ``language``) and unit of a feature column; the column itself if unknown."""
    try:
        info = describe_feature(column)
    except KeyError:
        return column, ""
    return (info.name_vi if language == "vi" else info.name), info.unit


def _format_number(value: float, scale: str, language: Language) -> str:
    """Raw values as written; z thresholds signed, with one or two decimals (+1.0, -0.25); in ``language``."""
    if scale == "raw":
        return number(value, "g", language)
    if round(value, 2) == 0:
        return localise("0.0", language)
    text = f"{value:+.2f}"
    return localise(text[:-1] if text.endswith("0") else text, language)


class Condition(BaseModel):
    """One comparison on one feature, or phrases the transcript mentions; a rule fires when all its
    conditions hold."""

    model_config = ConfigDict(extra="forbid")

    feature: str = Field(description="raw feature column, e.g. 'prosody.speech_rate'")
    op: Operator
    value: float | None = None
    low: float | None = None
    high: float | None = None
    scale: Literal["z", "raw"] = "z"
    phrases: list[str] | None = Field(
        default=None, description="for op 'mentions' on feature 'transcript': words or phrases, any of which"
    )

    @property
    def on_transcript(self) -> bool:
        """Whether this condition reads the transcript (op ``mentions``) rather than a feature value."""
        return self.op == "mentions"

    @field_validator("feature")
    @classmethod
    def _raw_column_name(cls, feature: str) -> str:
        if not feature.strip():
            raise ValueError("feature must name a feature column, e.g. 'prosody.speech_rate'")
        if feature.startswith("z."):
            raise ValueError(
                f"write the raw column name ({feature[2:]!r}), not {feature!r}; "
                "scale: z (the default) already compares the speaker-relative z-score"
            )
        return feature

    @field_validator("value", "low", "high")
    @classmethod
    def _finite(cls, number: float | None) -> float | None:
        if number is not None and not math.isfinite(number):
            raise ValueError("thresholds must be finite numbers")
        return number

    @field_validator("phrases")
    @classmethod
    def _phrases_have_words(cls, phrases: list[str] | None) -> list[str] | None:
        if phrases is not None and not (phrases and all(fold(p) for p in phrases)):
            raise ValueError("phrases must be a non-empty list of words or phrases, e.g. ['cứu với', 'cháy']")
        return phrases

    @model_validator(mode="after")
    def _operands_match_op(self) -> Condition:
        if (self.op == "mentions") != (self.feature == TRANSCRIPT):
            raise ValueError(f"op 'mentions' goes with feature {TRANSCRIPT!r} and only with it")
        if self.op == "mentions":
            if self.phrases is None or self.value is not None or self.low is not None or self.high is not None:
                raise ValueError("op 'mentions' needs phrases (and no value/low/high)")
            return self
        if self.phrases is not None:
            raise ValueError(f"phrases go only with op 'mentions' on feature {TRANSCRIPT!r}")
        if self.op == "between":
            if self.low is None or self.high is None or self.value is not None:
                raise ValueError("op 'between' needs low and high (and no value)")
            if self.low > self.high:
                raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        elif self.value is None or self.low is not None or self.high is not None:
            raise ValueError(f"op {self.op!r} needs value (and no low/high)")
        return self

    def holds(self, observed: float) -> bool:
        """Whether an observed value (z-score or raw, per ``scale``) satisfies a feature condition."""
        if self.on_transcript:
            raise ValueError("a transcript condition holds on text: use vietser.rules.phrases.mentioned")
        if self.op == "between":
            return self.low <= observed <= self.high  # type: ignore[operator]
        return _COMPARE[self.op](observed, self.value)

    def describe(self, language: Language = "en") -> str:
        """Readable form, e.g. 'speaking rate > +1.0 SD (speaker-relative)', 'transcript mentions "cứu với"'."""
        if self.on_transcript:
            quoted = _OR[language].join(f'"{phrase}"' for phrase in self.phrases or [])
            return f"{_MENTIONS[language]} {quoted}"
        name, unit = feature_info(self.feature, language)
        suffix = _SPEAKER_RELATIVE[language] if self.scale == "z" else unit
        if self.op == "between":
            low = _format_number(self.low, self.scale, language)  # type: ignore[arg-type]
            high = _format_number(self.high, self.scale, language)  # type: ignore[arg-type]
            text = f"{name} {_BETWEEN[language]} {low} .. {high}"
        else:
            text = f"{name} {self.op} {_format_number(self.value, self.scale, language)}"  # type: ignore[arg-type]
        return f"{text} {suffix}".rstrip()


class Rationale(BaseModel):
    """Why a rule holds, in English and Vietnamese."""

    model_config = ConfigDict(extra="forbid")

    en: str
    vi: str


class Rule(BaseModel):
    """If every condition in ``when`` holds, add ``weight`` to the score of ``supports``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="unique slug, e.g. 'panic-high-pitch'")
    when: list[Condition] = Field(min_length=1)
    supports: SupportedClass
    weight: float = Field(gt=0.0, allow_inf_nan=False)
    priority: int = 0
    rationale: Rationale
    provenance: Provenance
    version: int = Field(default=1, ge=1)
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _slug(cls, rule_id: str) -> str:
        if not _SLUG.match(rule_id):
            raise ValueError(
                f"{rule_id!r} is not a slug; use lowercase letters, digits and single hyphens, "
                "e.g. 'panic-high-pitch'"
            )
        return rule_id

    def describe(self, language: Language = "en") -> str:
        """One line: 'IF <conditions> THEN <class> (+weight)'."""
        conditions = _AND[language].join(c.describe(language) for c in self.when)
        if language == "vi":
            return f"NẾU {conditions} THÌ {VIETNAMESE_NAMES[self.supports]} (+{number(self.weight, 'g', 'vi')})"
        return f"IF {conditions} THEN {self.supports} (+{self.weight:g})"


class Rulebook(BaseModel):
    """A named, versioned list of rules."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: int = Field(ge=1)
    description: str = ""
    rules: list[Rule]

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[Rule]) -> list[Rule]:
        seen: dict[str, int] = {}
        for index, rule in enumerate(rules):
            if rule.id in seen:
                raise PydanticCustomError(
                    "duplicate_rule_id",
                    "duplicate rule id (rules #{first} and #{second}); give each rule a unique id",
                    {
                        "rule_id": rule.id,
                        "field": "id",
                        "first": seen[rule.id] + 1,
                        "second": index + 1,
                    },
                )
            seen[rule.id] = index
        return rules


def _format_location(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _rule_label(data: Mapping[str, Any], index: int) -> str:
    rules = data.get("rules")
    if isinstance(rules, list) and index < len(rules) and isinstance(rules[index], Mapping):
        rule_id = rules[index].get("id")
        if isinstance(rule_id, str) and rule_id:
            return f"rule {rule_id!r}"
    return f"rule #{index + 1}"


def _format_error(error: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    location = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    context = error.get("ctx") or {}
    if "rule_id" in context:
        return f"rule {context['rule_id']!r}: field {context['field']!r}: {message}"
    if len(location) >= 2 and location[0] == "rules" and isinstance(location[1], int):
        field = _format_location(location[2:]) or "(the rule itself)"
        return f"{_rule_label(data, location[1])}: field {field!r}: {message}"
    field = _format_location(location) or "(the rulebook itself)"
    return f"field {field!r}: {message}"


def parse_rulebook(data: Any, source: str = "rulebook") -> Rulebook:
    """Validate plain data (as loaded from YAML or JSON) into a Rulebook.

    Raises:
        RulebookError: naming the rule id and field of every problem.
    """
    if not isinstance(data, Mapping):
        raise RulebookError(
            f"{source}: expected a mapping with keys name, version and rules, "
            f"got {type(data).__name__}"
        )
    try:
        return Rulebook.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_format_error(error, data) for error in exc.errors())
        raise RulebookError(f"{source} is invalid: {problems}") from exc


def load_rulebook(path: str | Path) -> Rulebook:
    """Read and validate a rulebook YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulebookError(f"cannot read rulebook {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulebookError(f"{path} is not valid YAML: {exc}") from exc
    return parse_rulebook(data, source=str(path))


def dump_rulebook(rulebook: Rulebook) -> str:
    """The YAML text of a rulebook (stable: the same rulebook always gives the same text)."""
    data = rulebook.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_rulebook(rulebook: Rulebook, path: str | Path) -> Path:
    """Write a rulebook as YAML; loading it back gives an equal rulebook."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_rulebook(rulebook), encoding="utf-8")
    return path


def default_rulebook() -> Rulebook:
    """The packaged literature-based rulebook (see docs/rules.md)."""
    text = (
        resources.files("vietser.rules")
        .joinpath("default_rulebook.yaml")
        .read_text(encoding="utf-8")
    )
    return parse_rulebook(yaml.safe_load(text), source="default rulebook")
