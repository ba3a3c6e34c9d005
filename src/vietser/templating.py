"""Rendering of every Jinja2 template vietser uses, in Jinja2's immutable sandbox.

A prompt template may come from a user's file, so no template is trusted with
Python: the sandbox refuses attributes starting with ``_`` (the way out to
``os`` through ``__globals__``), internal attributes and calls that modify
lists, dicts or sets. A template that tries is reported as a
:class:`~vietser.errors.ConfigError` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from vietser.errors import ConfigError


def sandboxed_environment(**options: Any) -> ImmutableSandboxedEnvironment:
    """A sandboxed Jinja2 environment with ``options`` (loader, undefined, autoescape, ...)."""
    return ImmutableSandboxedEnvironment(**options)


def prompt_environment(folder: Path) -> ImmutableSandboxedEnvironment:
    """The sandboxed environment of LLM prompt templates in ``folder``: plain text (no autoescape), a
    missing variable an error, block tags leaving no blank lines."""
    return sandboxed_environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: jinja2.Template, context: Mapping[str, Any], name: str | Path | None = None) -> str:
    """``template`` rendered with ``context``; ``name`` is shown in errors (default: the template's own).

    Raises:
        ConfigError: the template tried an access the sandbox forbids.
    """
    try:
        return template.render(context)
    except SecurityError as exc:
        raise ConfigError(
            f"template {name or template.name or '<string>'} tried unsafe access and was not rendered ({exc}); "
            "a template may only read the values it is given. Use the packaged template or fix this one"
        ) from exc
