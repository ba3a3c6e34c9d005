"""The three emotion classes and their names."""

from __future__ import annotations

from enum import Enum


class Emotion(str, Enum):
    """Target classes, in the fixed order used for probability columns."""

    CALM = "calm"
    ANGRY = "angry"
    PANIC = "panic"


CLASSES: tuple[str, ...] = tuple(e.value for e in Emotion)

VIETNAMESE_NAMES: dict[str, str] = {
    "calm": "bình tĩnh",
    "angry": "tức giận",
    "panic": "hoảng loạn",
}

SPLITS: tuple[str, ...] = ("train", "dev", "test")
