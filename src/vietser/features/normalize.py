"""Per-speaker z-scores: each cue read against the speaker's own baseline.

Vietnamese is tonal, so a raw pitch movement is partly lexical tone and
partly the speaker's voice; only the departure from the speaker's usual
values says something about emotion. Normalisation is label-free: a
speaker's mean and standard deviation come from all of their clips,
whatever the emotion.

A speaker with fewer than ``min_clips`` clips (or no speaker id) has no
reliable baseline and is scored against corpus statistics: those of the
frame itself, or ``fallback`` (for example the training corpus' statistics
stored with a model, when classifying new recordings).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from vietser.errors import ConfigError
from vietser.features.catalog import Z_PREFIX

SPEAKER_COLUMN = "speaker"
# A speaker's standard deviation is floored at this fraction of the corpus
# one: a few near-identical clips must not turn small differences into huge z.
STD_FLOOR_FRACTION = 0.1
MIN_STD = 1e-9


class CorpusStats(BaseModel):
    """Mean and standard deviation per column of a reference corpus."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    mean: dict[str, float]
    std: dict[str, float]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, columns: list[str]) -> CorpusStats:
        """Statistics of ``columns`` over all rows of ``frame`` (NaN ignored)."""
        values = frame[columns].astype(np.float64)
        return cls(mean=values.mean().to_dict(), std=values.std().fillna(0.0).to_dict())

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> CorpusStats:
        """Parse :meth:`to_json` output.

        Raises:
            ConfigError: the text is not valid corpus statistics.
        """
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise ConfigError(f"invalid corpus statistics JSON: {exc}") from exc


def normalize_by_speaker(
    frame: pd.DataFrame,
    columns: list[str],
    min_clips: int = 5,
    fallback: CorpusStats | None = None,
) -> pd.DataFrame:
    """Z-score ``columns`` per speaker; returns ``z.<column>`` columns on the frame's index.

    Raises:
        ConfigError: ``min_clips`` is below 2, or ``fallback`` lacks some columns.
    """
    if min_clips < 2:
        raise ConfigError(f"min_clips is {min_clips}; a speaker baseline needs at least 2 clips")
    corpus = fallback if fallback is not None else CorpusStats.from_frame(frame, columns)
    missing = [column for column in columns if column not in corpus.mean or column not in corpus.std]
    if missing:
        raise ConfigError(
            f"fallback statistics lack {len(missing)} column(s), e.g. {missing[0]!r}; "
            "use statistics computed on the same feature sets"
        )
    values = frame[columns].to_numpy(dtype=np.float64)
    corpus_std = pd.Series(corpus.std)[columns].fillna(0.0).to_numpy()
    mean = np.tile(pd.Series(corpus.mean)[columns].to_numpy(), (len(frame), 1))
    std = np.tile(corpus_std, (len(frame), 1))
    own = has_speaker_baseline(frame, min_clips).to_numpy()
    if own.any():
        speakers = frame[SPEAKER_COLUMN].to_numpy()
        with warnings.catch_warnings():  # a feature missing on all of a speaker's clips stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            for speaker in pd.unique(speakers[own]):
                rows = own & (speakers == speaker)
                mean[rows] = np.nanmean(values[rows], axis=0)
                std[rows] = np.nan_to_num(np.nanstd(values[rows], axis=0, ddof=1))
    floor = np.maximum(STD_FLOOR_FRACTION * corpus_std, MIN_STD)
    z = pd.DataFrame((values - mean) / np.maximum(std, floor), index=frame.index, columns=columns)
    return z.rename(columns=lambda column: Z_PREFIX + column)


def has_speaker_baseline(frame: pd.DataFrame, min_clips: int) -> pd.Series:
    """True for rows whose speaker is known and has at least ``min_clips`` clips."""
    if SPEAKER_COLUMN not in frame.columns:
        return pd.Series(False, index=frame.index)
    speakers = frame[SPEAKER_COLUMN].replace("", np.nan)
    counts = speakers.map(speakers.value_counts())
    return speakers.notna() & (counts >= min_clips)
