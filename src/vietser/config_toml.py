"""Every run option as commented TOML, generated from the pydantic models (defaults and descriptions).

``vietser config`` prints it; the text loads back as the defaults::

    print(config_toml())
"""

from __future__ import annotations

import inspect
import json
import typing
from enum import Enum
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from vietser.config import RunConfig

_BOUNDS = ((annotated_types.Ge, "≥"), (annotated_types.Gt, ">"), (annotated_types.Le, "≤"), (annotated_types.Lt, "<"))


def config_toml(model: type[BaseModel] = RunConfig) -> str:
    """``model``'s options as TOML: each with one line of help above it and its default set (commented out
    when it has none); nested models as tables; a union's other kinds and unset sections commented out."""
    defaults = model()
    fields = model.model_fields
    tables = [name for name in fields if _models_in(fields[name].annotation)]
    lines = [f"# {_paragraph(model.__doc__)}"]
    for name, field in fields.items():
        if name not in tables:
            lines += _option(name, field, getattr(defaults, name))
    for name in tables:
        lines += ["", *_table(name, fields[name], getattr(defaults, name))]
    return "\n".join(lines) + "\n"


def _table(name: str, field: FieldInfo, value: Any) -> list[str]:
    kinds = _models_in(field.annotation)
    if value is None:
        return [f"# {_help(field)}; to set, uncomment:", f"# [{name}]", *_fields_of(kinds[0], None, commented=True)]
    lines = [f"# {_help(field)}", f"[{name}]", *_fields_of(type(value), value)]
    for other in kinds:
        if other is not type(value):
            lines += [f"# or: {_paragraph(other.__doc__)}", *_fields_of(other, None, commented=True)]
    return lines


def _fields_of(kind: type[BaseModel], value: BaseModel | None, commented: bool = False) -> list[str]:
    lines: list[str] = []
    for name, field in kind.model_fields.items():
        default = getattr(value, name) if value is not None else field.get_default(call_default_factory=True)
        lines += _option(name, field, default, commented)
    return lines


def _option(name: str, field: FieldInfo, value: Any, commented: bool = False) -> list[str]:
    """Help line, then ``name = default``; commented out when unset or ``commented``."""
    help_line = f"#   {_help(field)}" if commented else f"# {_help(field)}"
    if field.is_required():
        return [f"{help_line} (required)", f"# {name} ="]
    if value is None:
        return [f"{help_line} (unset by default)", f"# {name} ="]
    setting = f"{name} = {_toml_value(value)}"
    return [help_line, f"# {setting}" if commented else setting]


def _help(field: FieldInfo) -> str:
    """The field's description, else its type's docstring, else its type; then the values it allows."""
    documented = [_paragraph(kind.__doc__) for kind in _types_in(field.annotation) if _documented(kind)]
    text = (field.description or (documented[0] if documented else _kind_and_bounds(field))).rstrip(".")
    choices = _choices(field.annotation)
    if len(choices) == 1 and not field.description:
        return f"this section's kind, {choices[0]}"
    return f"{text}; one of {', '.join(choices)}" if len(choices) > 1 else text


def _kind_and_bounds(field: FieldInfo) -> str:
    names = [kind.__name__ for kind in _types_in(field.annotation) if kind is not type(None)]
    kind = {"int": "integer", "float": "number", "bool": "true or false", "str": "text"}.get(names[0], names[0]) if names else "value"
    bounds = [f"{sign} {getattr(meta, type(meta).__name__.lower())}" for meta in field.metadata for cls, sign in _BOUNDS if isinstance(meta, cls)]
    return ", ".join([kind, *bounds])


def _documented(kind: type) -> bool:
    return issubclass(kind, (Enum, BaseModel)) and bool(kind.__doc__)


def _types_in(annotation: Any) -> list[type]:
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return [annotation]
    return [found for arg in typing.get_args(annotation) for found in _types_in(arg)]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    return [kind for kind in _types_in(annotation) if issubclass(kind, BaseModel)]


def _choices(annotation: Any) -> list[str]:
    if typing.get_origin(annotation) is typing.Literal:
        return [json.dumps(arg) for arg in typing.get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [json.dumps(member.value) for member in annotation]
    return [choice for arg in typing.get_args(annotation) for choice in _choices(arg)]


def _paragraph(doc: str | None) -> str:
    """The first paragraph of a docstring on one line."""
    return " ".join(inspect.cleandoc(doc or "").split("\n\n")[0].split())


def _toml_value(value: Any) -> str:
    if isinstance(value, Enum):
        return _toml_value(value.value)
    if isinstance(value, Path):
        return json.dumps(value.as_posix())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)
