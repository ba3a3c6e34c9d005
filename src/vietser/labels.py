"""The three emotion classes and their names."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


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

# A manifest's ``annotator_<name>`` columns hold each annotator's label of the clip (empty: no vote).
ANNOTATOR_PREFIX = "annotator_"


def annotator_columns(frame: pd.DataFrame) -> list[str]:
    """The ``annotator_*`` columns of a table, in table order."""
    return [column for column in frame.columns if str(column).startswith(ANNOTATOR_PREFIX)]


def label_indices(labels: Sequence[str] | np.ndarray, classes: Sequence[str] = CLASSES) -> np.ndarray:
    """Map labels to their index in ``classes``.

    Raises:
        ValueError: a label is not one of ``classes``.
    """
    index = {name: i for i, name in enumerate(classes)}
    values = [str(label) for label in labels]
    unknown = sorted({value for value in values if value not in index})
    if unknown:
        raise ValueError(
            f"labels {unknown} are not among the classes {list(classes)}; map them onto these classes first"
        )
    return np.fromiter((index[value] for value in values), dtype=np.int64, count=len(values))
