"""Per-speaker z-scores computed batch by batch, for tables too large to hold in memory.

:class:`SpeakerMoments` accumulates each speaker's count, mean and sum of
squared deviations one batch of rows at a time (merging batches with Chan et
al.'s pairwise update, which stays accurate where running sums of squares
would cancel), so memory grows with speakers x columns, never with clips.
:meth:`SpeakerMoments.zscores` then scores any batch exactly as
:func:`vietser.features.normalize.normalize_by_speaker` scores the whole
table: own baseline for speakers with at least ``min_clips`` clips, corpus
(or fallback) statistics otherwise — each row's own corpus where a ``corpus``
column pools several — the same standard-deviation floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vietser.errors import ConfigError
from vietser.features.catalog import Z_PREFIX
from vietser.features.normalize import (
    CORPUS_COLUMN,
    MIN_STD,
    SPEAKER_COLUMN,
    STD_FLOOR_FRACTION,
    CorpusStats,
    moments_by_row,
    spread_columns,
)


@dataclass(frozen=True)
class Moments:
    """Count, mean and sum of squared deviations of some rows, per column."""

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Moments:
        mean = values.mean(axis=0)
        return cls(len(values), mean, ((values - mean) ** 2).sum(axis=0))

    def merge(self, other: Moments) -> Moments:
        count = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / count)
        m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / count)
        return Moments(count, mean, m2)

    def std(self) -> np.ndarray:
        """Sample standard deviation (ddof 1); 0 for fewer than two rows, as pandas' ``std().fillna(0)``."""
        if self.count < 2:
            return np.zeros_like(self.mean)
        return np.sqrt(self.m2 / (self.count - 1))


class SpeakerMoments:
    """Running statistics of ``columns`` per speaker (rows without a speaker only count for the corpus)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = list(columns)
        self.speakers: dict[str, Moments] = {}
        self.corpora: dict[str, Moments] = {}
        self._unknown: Moments | None = None

    def add(self, frame: pd.DataFrame) -> None:
        """Add a batch of rows."""
        if frame.empty:
            return
        values = frame[self.columns].to_numpy(dtype=np.float64)
        codes, speakers = pd.factorize(pd.Series(_speaker_keys(frame), dtype=object))
        for code, key in [(-1, None), *enumerate(speakers)]:
            mask = codes == code
            if not mask.any():
                continue
            rows = Moments.of(values[mask])
            if key is None:
                self._unknown = rows if self._unknown is None else self._unknown.merge(rows)
            else:
                known = self.speakers.get(key)
                self.speakers[key] = rows if known is None else known.merge(rows)
        if CORPUS_COLUMN in frame.columns:
            corpora = frame[CORPUS_COLUMN].astype(str).to_numpy()
            for corpus in pd.unique(corpora):
                rows = Moments.of(values[corpora == corpus])
                known = self.corpora.get(corpus)
                self.corpora[corpus] = rows if known is None else known.merge(rows)

    def corpus(self) -> CorpusStats:
        """Statistics over every row added, as :meth:`CorpusStats.from_frame` gives on the whole table."""
        return self._stats([*self.speakers.values(), *([self._unknown] if self._unknown is not None else [])])

    def _stats(self, groups: list[Moments]) -> CorpusStats:
        if not groups:
            nan = dict.fromkeys(self.columns, float("nan"))
            return CorpusStats(mean=nan, std=dict.fromkeys(self.columns, 0.0))
        total = groups[0]
        for group in groups[1:]:
            total = total.merge(group)
        return CorpusStats(
            mean=dict(zip(self.columns, total.mean.tolist())), std=dict(zip(self.columns, total.std().tolist()))
        )

    def _corpus_moments(self, frame: pd.DataFrame, fallback: CorpusStats | None) -> tuple[np.ndarray, np.ndarray]:
        """Each row's corpus mean and standard deviation, as :func:`normalize_by_speaker` reads them."""
        whole = fallback if fallback is not None else self.corpus()
        if fallback is not None or CORPUS_COLUMN not in frame.columns or not self.corpora:
            return moments_by_row(np.zeros(len(frame), dtype=int), [whole], self.columns)
        # Group 0 is the whole corpus, for rows of a corpus no batch added; group i + 1 is corpus i.
        position = {corpus: index + 1 for index, corpus in enumerate(self.corpora)}
        groups = np.array([position.get(corpus, 0) for corpus in frame[CORPUS_COLUMN].astype(str)], dtype=int)
        stats = [whole, *(self._stats([moments]) for moments in self.corpora.values())]
        return moments_by_row(groups, stats, self.columns)

    def zscores(self, frame: pd.DataFrame, min_clips: int, fallback: CorpusStats | None = None) -> pd.DataFrame:
        """``z.<column>`` and ``spread.`` columns for a batch of rows, on the batch's index.

        Raises:
            ConfigError: ``min_clips`` is below 2, or ``fallback`` lacks some columns.
        """
        check_normalization(self.columns, min_clips, fallback)
        mean, corpus_std = self._corpus_moments(frame, fallback)
        std = corpus_std.copy()
        has_own = np.zeros(len(frame), dtype=bool)
        for row, key in enumerate(_speaker_keys(frame)):
            own = self.speakers.get(key) if key is not None else None
            if own is not None and own.count >= min_clips:
                mean[row], std[row], has_own[row] = own.mean, own.std(), True
        floor = np.maximum(STD_FLOOR_FRACTION * corpus_std, MIN_STD)
        z = (frame[self.columns].to_numpy(dtype=np.float64) - mean) / np.maximum(std, floor)
        z_frame = pd.DataFrame(z, index=frame.index, columns=[Z_PREFIX + column for column in self.columns])
        return pd.concat([z_frame, spread_columns(self.columns, std, has_own, frame.index)], axis=1)


def check_normalization(columns: list[str], min_clips: int, fallback: CorpusStats | None) -> None:
    """Raise the errors :func:`normalize_by_speaker` raises, before any work is done.

    Raises:
        ConfigError: ``min_clips`` is below 2, or ``fallback`` lacks some columns.
    """
    if min_clips < 2:
        raise ConfigError(f"min_clips is {min_clips}; a speaker baseline needs at least 2 clips")
    if fallback is None:
        return
    missing = [column for column in columns if column not in fallback.mean or column not in fallback.std]
    if missing:
        raise ConfigError(
            f"fallback statistics lack {len(missing)} column(s), e.g. {missing[0]!r}; "
            "use statistics computed on the same feature sets"
        )


def _speaker_keys(frame: pd.DataFrame) -> list[str | None]:
    """Each row's speaker, None where unknown (no column, empty or missing id)."""
    if SPEAKER_COLUMN not in frame.columns:
        return [None] * len(frame)
    return [None if pd.isna(value) or value == "" else str(value) for value in frame[SPEAKER_COLUMN]]
