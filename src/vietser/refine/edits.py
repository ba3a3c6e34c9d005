"""Rulebook edits: the five kinds of change refinement may make, validated, and how to apply them.

An edit says what changes (:class:`ThresholdMove`, :class:`AddCondition`,
:class:`AddRule`, :class:`RemoveRule`, :class:`SetWeight`), why (``reason``) and
who proposed it (``source``: the automatic search, an LLM or a person).
:func:`apply_edit` returns a new rulebook one version up; the rules it touches
get a new rule version and provenance ``refined`` (``person`` for a person's
edit). Example::

    edit = SetWeight(rule_id="angry-loud-voice", weight=0.6, reason="fires on calm clips", source="person")
    rulebook = apply_edit(rulebook, edit)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from vietser.errors import RulebookError
from vietser.rules.rulebook import Condition, Rule, Rulebook, parse_rulebook

EditSource = Literal["search", "llm", "person"]
Bound = Literal["value", "low", "high"]


class _Edit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(description="why this edit should help, citing the error analysis")
    source: EditSource = Field(description="who proposed it")


class ThresholdMove(_Edit):
    """Set one threshold of one condition: ``value``, or ``low``/``high`` of a ``between``."""

    kind: Literal["threshold_move"] = "threshold_move"
    rule_id: str
    condition_index: int = Field(ge=0, description="position of the condition in the rule's 'when'")
    new_value: float = Field(allow_inf_nan=False)
    bound: Bound = "value"


class AddCondition(_Edit):
    """Add a condition to a rule, so it fires on fewer clips."""

    kind: Literal["add_condition"] = "add_condition"
    rule_id: str
    condition: Condition


class AddRule(_Edit):
    """Add a new rule (its id must not be in the rulebook yet)."""

    kind: Literal["add_rule"] = "add_rule"
    rule: Rule


class RemoveRule(_Edit):
    """Drop a rule from the rulebook (earlier versions keep it in the history)."""

    kind: Literal["remove_rule"] = "remove_rule"
    rule_id: str


class SetWeight(_Edit):
    """Set a rule's weight (its log-odds bonus)."""

    kind: Literal["set_weight"] = "set_weight"
    rule_id: str
    weight: float = Field(gt=0.0, allow_inf_nan=False)


RuleEdit = Annotated[
    ThresholdMove | AddCondition | AddRule | RemoveRule | SetWeight, Field(discriminator="kind")
]
EDIT_LIST = TypeAdapter(list[RuleEdit])


def parse_edits(data: Any, source: EditSource, origin: str = "edits") -> list[RuleEdit]:
    """Validate plain data (a list of edits, or ``{"edits": [...]}``) into edits from ``source``.

    The ``source`` of every edit is set to ``source`` whatever the data says.

    Raises:
        RulebookError: naming the position and field of every problem.
    """
    if isinstance(data, dict) and set(data) == {"edits"}:
        data = data["edits"]
    if not isinstance(data, list):
        raise RulebookError(f"{origin}: expected a list of edits, got {type(data).__name__}")
    stamped = [{**item, "source": source} if isinstance(item, dict) else item for item in data]
    try:
        return EDIT_LIST.validate_python(stamped)
    except ValidationError as exc:
        problems = "; ".join(
            f"edit #{int(e['loc'][0]) + 1}: field {'.'.join(map(str, e['loc'][1:])) or '(the edit)'!r}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise RulebookError(f"{origin} is invalid: {problems}") from exc


def target_rule_id(edit: RuleEdit) -> str:
    """The id of the rule the edit creates or changes."""
    return edit.rule.id if isinstance(edit, AddRule) else edit.rule_id


def describe_edit(edit: RuleEdit) -> str:
    """One line saying what the edit changes."""
    if isinstance(edit, ThresholdMove):
        where = "" if edit.bound == "value" else f" ({edit.bound} bound)"
        return f"{edit.rule_id}: condition #{edit.condition_index + 1}{where} threshold → {edit.new_value:+g}"
    if isinstance(edit, AddCondition):
        return f"{edit.rule_id}: add condition {edit.condition.describe()}"
    if isinstance(edit, AddRule):
        return f"add rule {edit.rule.id}: {edit.rule.describe()}"
    if isinstance(edit, RemoveRule):
        return f"remove rule {edit.rule_id}"
    return f"{edit.rule_id}: weight → {edit.weight:g}"


def edit_key(edit: RuleEdit) -> str:
    """What the edit changes, without reason and source: equal keys mean the same change."""
    return edit.model_dump_json(exclude={"reason", "source"})


def _index_of(rulebook: Rulebook, rule_id: str) -> int:
    for index, rule in enumerate(rulebook.rules):
        if rule.id == rule_id:
            return index
    known = ", ".join(rule.id for rule in rulebook.rules) or "none"
    raise RulebookError(f"no rule {rule_id!r} in rulebook {rulebook.name!r}; known rule ids: {known}")


def _moved(rule: Rule, edit: ThresholdMove) -> dict[str, Any]:
    if edit.condition_index >= len(rule.when):
        raise RulebookError(
            f"rule {rule.id!r} has {len(rule.when)} conditions; "
            f"condition_index {edit.condition_index} does not exist (count from 0)"
        )
    condition = rule.when[edit.condition_index]
    if (condition.op == "between") != (edit.bound != "value"):
        wanted = "'low' or 'high'" if condition.op == "between" else "'value'"
        raise RulebookError(
            f"rule {rule.id!r} condition #{edit.condition_index + 1} uses op {condition.op!r}; "
            f"move its bound {wanted}, not {edit.bound!r}"
        )
    when = [c.model_dump() for c in rule.when]
    when[edit.condition_index][edit.bound] = edit.new_value
    return {"when": when}


def _changes(rule: Rule, edit: RuleEdit) -> dict[str, Any]:
    if isinstance(edit, ThresholdMove):
        return _moved(rule, edit)
    if isinstance(edit, AddCondition):
        return {"when": [*(c.model_dump() for c in rule.when), edit.condition.model_dump()]}
    if isinstance(edit, SetWeight):
        return {"weight": edit.weight}
    raise TypeError(f"not an edit of an existing rule: {type(edit).__name__}")


def _provenance(edit: RuleEdit) -> str:
    return "person" if edit.source == "person" else "refined"


def apply_edit(rulebook: Rulebook, edit: RuleEdit) -> Rulebook:
    """The rulebook after ``edit``, one version up; ``rulebook`` itself is unchanged.

    Raises:
        RulebookError: the edit names an unknown rule or condition, adds a duplicate id,
            or leaves an invalid rule (e.g. a ``between`` with low above high).
    """
    rules = [rule.model_dump() for rule in rulebook.rules]
    if isinstance(edit, AddRule):
        rules.append({**edit.rule.model_dump(), "provenance": _provenance(edit), "version": 1})
    elif isinstance(edit, RemoveRule):
        del rules[_index_of(rulebook, edit.rule_id)]
    else:
        index = _index_of(rulebook, edit.rule_id)
        rule = rulebook.rules[index]
        rules[index] = {
            **rules[index],
            **_changes(rule, edit),
            "provenance": _provenance(edit),
            "version": rule.version + 1,
        }
    data = {**rulebook.model_dump(), "version": rulebook.version + 1, "rules": rules}
    return parse_rulebook(data, source=f"rulebook after edit ({describe_edit(edit)})")


def applies(rulebook: Rulebook, edit: RuleEdit, notes: list[str]) -> bool:
    """Whether ``edit`` applies to ``rulebook``; where it does not, why is added to ``notes``."""
    try:
        apply_edit(rulebook, edit)
    except RulebookError as exc:
        notes.append(f"left out: {exc}")
        return False
    return True


def apply_edits(rulebook: Rulebook, edits: Sequence[RuleEdit]) -> Rulebook:
    """Apply edits in order (one version up per edit)."""
    for edit in edits:
        rulebook = apply_edit(rulebook, edit)
    return rulebook
