"""Label mappings: corpus labels (any language, any spelling) onto calm / angry / panic, or left out."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from vietser.errors import ConfigError
from vietser.labels import CLASSES, VIETNAMESE_NAMES

LabelMapSpec = Mapping[str, str | None] | str | Path | Sequence[str]

_DROP_WORDS = ("", "none", "null", "drop", "-")

DEFAULT_LABEL_MAP: Mapping[str, str] = {
    **{name: name for name in CLASSES},
    "neutral": "calm",
    "anger": "angry",
    "fear": "panic",
    "fearful": "panic",
    "scared": "panic",
    "afraid": "panic",
    **{vietnamese: name for name, vietnamese in VIETNAMESE_NAMES.items()},
    # The same words typed without diacritics, and common Vietnamese synonyms.
    "binh tinh": "calm",
    "trung tính": "calm",
    "tuc gian": "angry",
    "giận dữ": "angry",
    "hoang loan": "panic",
    "hoảng sợ": "panic",
    "sợ hãi": "panic",
}


def label_key(value: str) -> str:
    """Normal form of a label for lookups: NFC, case-folded, single spaces.

    NFC matters for Vietnamese: the same word may arrive precomposed or with
    combining diacritics depending on the keyboard that typed it.
    """
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


_DEFAULT_KEYS = {label_key(key): target for key, target in DEFAULT_LABEL_MAP.items()}
_CLASS_NAMES = {label_key(name): name for name in CLASSES} | {
    label_key(vietnamese): name for name, vietnamese in VIETNAMESE_NAMES.items()
}


def parse_label_map(spec: LabelMapSpec) -> dict[str, str | None]:
    """Read a label mapping ``{source label: class or None}`` from any usual form.

    Args:
        spec: a mapping; a YAML/JSON file holding one; a string of
            ``source=target`` pairs separated by commas; or a list of such
            strings. A target of ``none``, ``drop``, ``-`` or nothing maps
            the source to ``None`` (leave those clips out).

    Returns:
        Keys in :func:`label_key` form, targets one of CLASSES or None.

    Raises:
        ConfigError: unreadable file, malformed pair or unknown target class.
    """
    if isinstance(spec, Mapping):
        pairs = list(spec.items())
    elif isinstance(spec, Path) or (isinstance(spec, str) and "=" not in spec):
        pairs = list(_read_label_map_file(Path(spec)).items())
    else:
        items = [spec] if isinstance(spec, str) else list(spec)
        pairs = [_split_pair(part) for item in items for part in item.split(",") if part.strip()]
    return {label_key(str(source)): _target_class(source, target) for source, target in pairs}


def _read_label_map_file(path: Path) -> Mapping[str, str | None]:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"label map file not found: {path}. Give a YAML/JSON file or pairs like 'happy=calm,sad=none'."
        ) from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read label map {path}: {exc}") from exc
    if not isinstance(content, Mapping):
        found = type(content).__name__
        raise ConfigError(f"label map {path} must hold a mapping 'source label: class', found {found}.")
    return content


def _split_pair(text: str) -> tuple[str, str]:
    source, sep, target = text.partition("=")
    if not sep or not source.strip():
        raise ConfigError(f"label map entry {text.strip()!r} is not of the form source=target (e.g. happy=calm).")
    return source, target


def _target_class(source: object, target: object) -> str | None:
    if target is None or (isinstance(target, str) and label_key(target) in _DROP_WORDS):
        return None
    name = _CLASS_NAMES.get(label_key(str(target)))
    if name is None:
        raise ConfigError(
            f"label map sends {source!r} to {target!r}, which is not a class. "
            f"Use one of {', '.join(CLASSES)} (or none to leave those clips out)."
        )
    return name


def label_mapping(spec: LabelMapSpec | None) -> dict[str, str | None]:
    """:data:`DEFAULT_LABEL_MAP` extended (and overridden) by ``spec``, keys in :func:`label_key` form."""
    return {**_DEFAULT_KEYS, **parse_label_map(spec or {})}
