"""Lazy re-exports for package ``__init__`` files, so importing a package loads none of its heavy modules.

A package lists its public names and the module each lives in; a name's module is imported on first
use (PEP 562 module ``__getattr__``)::

    __getattr__, __all__ = lazy_exports(__name__, {"load_model": "vietser.acoustic.persist"})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], list[str]]:
    """The package's ``__getattr__`` (imports ``exports[name]`` on first use of ``name``) and its ``__all__``."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__, sorted(exports)
