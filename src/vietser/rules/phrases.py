"""What a clip's words say: transcripts folded for matching, and phrase lists matched on them.

Matching is on folded text (:func:`fold`): lower case, Vietnamese diacritics removed
(Unicode NFD, combining marks dropped, ``đ`` → ``d``) and punctuation kept as a token of
its own, so "Cứu với!" and "cuu voi" match the same phrase and a phrase never runs
across a comma. A phrase matches whole words only. A negator right before a phrase
("không", "chẳng", "chưa", "not", "no", "never") cancels that occurrence: "không cháy"
does not mention "cháy".

Example::

    texts = fold_all(["Cứu với, nhà tôi cháy rồi!", "không cháy đâu", None])
    mentions(texts, ["cháy"])   # array([ True, False, False])
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

NEGATORS: tuple[str, ...] = ("khong", "chang", "chua", "not", "no", "never")
_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case, no diacritics, punctuation as separate ``.`` tokens, single spaces."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE.sub(" ", _PUNCTUATION.sub(" . ", plain)).strip()


def fold_all(texts: Iterable[str | None]) -> tuple[str, ...]:
    """:func:`fold` of each transcript; a missing one (None, NaN, empty) folds to ``""``."""
    return tuple(fold(text) if isinstance(text, str) else "" for text in texts)


def words(text: str) -> list[str]:
    """The words of a transcript as written (lower case, diacritics kept), punctuation dropped."""
    return [word for word in _SPACE.split(_PUNCTUATION.sub(" ", text.lower())) if word]


@lru_cache(maxsize=1024)
def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(sorted({re.escape(fold(p)) for p in phrases}, key=len, reverse=True))
    negators = "|".join(NEGATORS)
    return re.compile(rf"(?<!\S)(?:({negators}) )?(?:{alternatives})(?!\S)")


def mentioned(text: str, phrases: Sequence[str]) -> bool:
    """Whether a folded transcript says one of ``phrases`` without a negator right before it."""
    return any(match.group(1) is None for match in _pattern(tuple(phrases)).finditer(text))


def mentions(texts: Sequence[str], phrases: Sequence[str]) -> np.ndarray:
    """:func:`mentioned` for each folded transcript, as a boolean array."""
    return np.fromiter((mentioned(text, phrases) for text in texts), dtype=bool, count=len(texts))
