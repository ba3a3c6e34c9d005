"""Per-speaker z-scores: each cue read against the speaker's own baseline.

Vietnamese is tonal, so a raw pitch movement is partly lexical tone and
partly the speaker's voice; only the departure from the speaker's usual
values says something about emotion. Normalisation is label-free: a
speaker's mean and standard deviation come from all of their clips,
whatever the emotion.

A speaker with fewer than ``min_clips`` clips (or no speaker id) has no
reliable baseline and is scored against corpus statistics: those of the
frame itself — of the row's own corpus when a ``corpus`` column pools
several — or ``fallback`` (for example the training corpus' statistics
stored with a model, when classifying new recordings).

A baseline taken over all of a speaker's clips depends on what the clips
hold: for a speaker who is calm in every clip, z = 0 is calm; for a training
actor whose clips are 43 % calm, z = 0 is mildly aroused. Two things make
the reading hold whatever the mix. ``spread.<column>`` columns give the
log standard deviation of a few gain-invariant cues over the speaker's clips
(:data:`~vietser.features.catalog.SPREAD_FEATURES`): arousal widens them, so
a model can tell a homogeneous speaker from a varied one. And
:func:`composition_copies` makes, at training time, copies of each training
speaker read against subsets of their clips with other calm shares (all
calm, mostly calm), so the model learns what z means under each mix.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from vietser.errors import ConfigError
from vietser.features.catalog import SPREAD_FEATURES, SPREAD_PREFIX, Z_PREFIX

SPEAKER_COLUMN = "speaker"
CORPUS_COLUMN = "corpus"
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
    """Z-score ``columns`` per speaker; returns ``z.<column>`` columns, then the ``spread.`` columns
    (NaN for rows without their own baseline), on the frame's index.

    Raises:
        ConfigError: ``min_clips`` is below 2, or ``fallback`` lacks some columns.
    """
    if min_clips < 2:
        raise ConfigError(f"min_clips is {min_clips}; a speaker baseline needs at least 2 clips")
    if fallback is not None:
        missing = [column for column in columns if column not in fallback.mean or column not in fallback.std]
        if missing:
            raise ConfigError(
                f"fallback statistics lack {len(missing)} column(s), e.g. {missing[0]!r}; "
                "use statistics computed on the same feature sets"
            )
    values = frame[columns].to_numpy(dtype=np.float64)
    mean, corpus_std = _corpus_moments(frame, columns, fallback)
    std = corpus_std.copy()
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
    z = z.rename(columns=lambda column: Z_PREFIX + column)
    return pd.concat([z, spread_columns(columns, std, own, frame.index)], axis=1)


def _corpus_moments(
    frame: pd.DataFrame, columns: list[str], fallback: CorpusStats | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's corpus mean and standard deviation: ``fallback``'s, else those of the row's corpus
    (the whole frame when it has no ``corpus`` column)."""
    if fallback is not None or CORPUS_COLUMN not in frame.columns:
        stats = fallback if fallback is not None else CorpusStats.from_frame(frame, columns)
        return moments_by_row(np.zeros(len(frame), dtype=int), [stats], columns)
    codes, corpora = pd.factorize(frame[CORPUS_COLUMN].astype(str))
    per_corpus = [CorpusStats.from_frame(frame[codes == code], columns) for code in range(len(corpora))]
    return moments_by_row(codes, per_corpus, columns)


def moments_by_row(
    groups: np.ndarray, stats: Sequence[CorpusStats], columns: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (NaN read as 0) per row, row ``i`` taking ``stats[groups[i]]``."""
    mean = np.array([[group.mean[column] for column in columns] for group in stats], dtype=np.float64)
    std = np.array([[group.std[column] for column in columns] for group in stats], dtype=np.float64)
    return mean[groups], np.where(np.isnan(std), 0.0, std)[groups]


def spread_columns(columns: list[str], std: np.ndarray, own: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """``spread.<column>`` for the :data:`SPREAD_FEATURES` among ``columns``: log of each row's
    speaker standard deviation, NaN where the row has no baseline of its own (``own`` False)."""
    present = _spread_sources(columns)
    positions = [columns.index(column) for column in present]
    with np.errstate(divide="ignore"):
        logs = np.log(np.maximum(std[:, positions], MIN_STD))
    logs[~own] = np.nan
    return pd.DataFrame(logs, index=index, columns=[SPREAD_PREFIX + column for column in present])


def _spread_sources(columns: list[str]) -> list[str]:
    return [column for column in SPREAD_FEATURES if column in columns]


def reference_stats(reference: pd.DataFrame, columns: list[str], source: str = "the reference") -> CorpusStats:
    """Statistics of a reference: a few ordinary recordings of a speaker, channel or domain
    (``source`` names them in the error).

    Raises:
        ConfigError: fewer than 2 recordings.
    """
    if len(reference) < 2:
        raise ConfigError(
            f"{source} gives {len(reference)} usable recording(s); a reference needs at least 2: add ordinary "
            "recordings of the speaker, channel or domain"
        )
    return CorpusStats.from_frame(reference, columns)


def anchored_to_calm(
    frame: pd.DataFrame, reference: CorpusStats, calm: CorpusStats, columns: list[str]
) -> pd.DataFrame:
    """``columns`` of ``frame`` moved so that ``reference`` (:func:`reference_stats` of ordinary
    recordings of the speaker, channel or domain) lands on ``calm`` (the training clips labelled
    calm), column by column: ``(x - mean_ref) / std_ref * std_calm + mean_calm``. A clip like the
    reference then reads like the training corpus' calm speech, however its language, channel or
    recording level moves the raw values. The reference's standard deviation is floored as a
    speaker's is.

    Raises:
        ConfigError: ``reference`` or ``calm`` lacks some columns.
    """
    missing = [column for column in columns if column not in calm.mean or column not in reference.mean]
    if missing:
        raise ConfigError(
            f"the reference or calm statistics lack {len(missing)} column(s), e.g. {missing[0]!r}; use "
            "statistics of the same feature sets"
        )
    calm_mean, calm_std = moments_by_row(np.zeros(1, dtype=int), [calm], columns)
    ref_mean, ref_std = moments_by_row(np.zeros(1, dtype=int), [reference], columns)
    floor = np.maximum(STD_FLOOR_FRACTION * calm_std, MIN_STD)
    values = frame[columns].to_numpy(dtype=np.float64)
    moved = (values - ref_mean) / np.maximum(ref_std, floor) * calm_std + calm_mean
    return pd.DataFrame(moved, index=frame.index, columns=columns)


def spread_names(columns: list[str]) -> list[str]:
    """The ``spread.`` columns that normalising ``columns`` adds."""
    return [SPREAD_PREFIX + column for column in _spread_sources(columns)]


def composition_copies(
    frame: pd.DataFrame, columns: list[str], calm_shares: tuple[float, ...], seed: int, min_clips: int = 5
) -> pd.DataFrame:
    """Labelled training rows read as speakers whose clips hold other calm shares.

    For every speaker and share, the clips of the class group that the share
    makes scarcer are drawn (seeded) from — aroused clips for a share above
    the speaker's own, calm ones below it — and the rest kept, until calm
    makes up ``share`` of the subset; the subset is z-scored (and its spread
    taken) on its own, as a new speaker with that mix would be. Speaker ids
    stay, so speaker-grouped folds keep a speaker's copies together. Subsets
    under ``min_clips`` clips are left out.
    """
    rng = np.random.default_rng(seed)
    labels = frame["label"].astype(str).to_numpy()
    speakers = frame[SPEAKER_COLUMN].astype(str).to_numpy()
    copies = []
    for speaker in pd.unique(speakers):
        rows = np.flatnonzero(speakers == speaker)
        calm, aroused = rows[labels[rows] == "calm"], rows[labels[rows] != "calm"]
        for share in calm_shares:
            if share >= len(calm) / len(rows):
                n_aroused = min(len(aroused), int(round(len(calm) * (1 - share) / share)))
                chosen = np.concatenate([calm, rng.choice(aroused, n_aroused, replace=False)])
            else:
                n_calm = min(len(calm), int(round(len(aroused) * share / (1 - share))))
                chosen = np.concatenate([aroused, rng.choice(calm, n_calm, replace=False)])
            chosen = np.sort(chosen)
            if len(chosen) < min_clips:
                continue
            subset = frame.iloc[chosen]
            normalised = normalize_by_speaker(subset, columns, min_clips=min_clips)
            copies.append(pd.concat([subset.drop(columns=list(normalised.columns), errors="ignore"), normalised], axis=1))
    return pd.concat(copies, ignore_index=True) if copies else frame.iloc[:0]


def has_speaker_baseline(frame: pd.DataFrame, min_clips: int) -> pd.Series:
    """True for rows whose speaker is known and has at least ``min_clips`` clips."""
    if SPEAKER_COLUMN not in frame.columns:
        return pd.Series(False, index=frame.index)
    speakers = frame[SPEAKER_COLUMN].replace("", np.nan)
    counts = speakers.map(speakers.value_counts())
    return speakers.notna() & (counts >= min_clips)
