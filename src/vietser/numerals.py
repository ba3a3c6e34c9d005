"""Numbers in text people read: the one home of the decimal separator per language.

English text writes ``0.55``, Vietnamese text ``0,55``. Only human text goes through
here; machine-read values (JSON, YAML, rule conditions, CSV) stay plain numbers.

Example::

    number(-1.5, "+.1f", "vi")   # '-1,5'
    localise("+0.25", "vi")      # '+0,25'
"""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "vi"]

DECIMAL_SEPARATOR: dict[Language, str] = {"en": ".", "vi": ","}


def localise(formatted: str, language: Language) -> str:
    """A number Python formatted (``'+1.5'``, ``'2e-05'``) with ``language``'s decimal separator.

    ``formatted`` must be one number, not a sentence: every ``.`` in it is a decimal point.
    """
    return formatted.replace(".", DECIMAL_SEPARATOR[language])


def number(value: float, spec: str, language: Language) -> str:
    """``value`` formatted with ``spec`` (as in ``format(value, spec)``) for text in ``language``."""
    return localise(format(value, spec), language)
