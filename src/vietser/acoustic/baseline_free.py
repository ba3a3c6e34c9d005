"""The acoustic model's companion for clips whose speaker has no baseline.

A clip read without a baseline of its own (a single new recording, a speaker
with fewer than ``min_clips`` clips) gets its ``z.`` columns against the
training corpus' statistics. The speaker model learnt what a departure from a
speaker's own usual values means; against the corpus the same numbers also
hold how this speaker differs from the others, which it never saw. So the
acoustic model keeps a second acoustic model for those rows: the same kind,
on the raw columns of its first view only (eGeMAPS + prosody by default; the
pipeline's scaler puts them on the corpus' scale), tuned and calibrated on
speaker-grouped folds — the condition it serves, a speaker it has never
heard, heard once — with a training domain of its own: how far a single clip
lies from the training clips as they vary between speakers. The wide second view stays out: read against a
corpus rather than a speaker, its ~1,000 columns learn the training corpus.

Measured with every held-out clip decided on its own (RAVDESS, 6
leave-speakers-out folds, training actors also through the telephone channel;
the default speaker model with its emobase view / the companion):
macro-F1 0.830 / 0.808, telephone copies 0.797 / 0.825, RAVDESS → EmoDB 0.346
/ 0.422, Vietnamese ordinary speech called calm 2 / 9 of 22. The companion
with the emobase view too: 0.858, 0.862, 0.278 and 0 of 22.

A row has no baseline of its own where its ``spread.`` columns are NaN
(:func:`vietser.features.normalize.spread_columns`); a model that reads no
spread columns has no companion. A speaker whose clips hardly vary (calm in
every clip, say) has a baseline that misleads the speaker model; the
:class:`HomogeneityGate` sends such speakers to the companion too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from vietser.acoustic.config import AcousticConfig, FeatureView, Normalisation
from vietser.features.catalog import SPREAD_PREFIX
from vietser.features.normalize import MIN_STD, SPEAKER_COLUMN
from vietser.labels import Emotion


def companion_config(config: AcousticConfig, speaker_columns: list[str]) -> AcousticConfig | None:
    """The companion's configuration: ``config``'s first view (``both`` read as ``voice``), its raw
    columns; None where a model of
    ``config`` reading ``speaker_columns`` gets no companion — it reads no speaker-normalised columns, or no
    spread columns by which the rows without a baseline are told."""
    if config.normalisation is not Normalisation.SPEAKER or not any(
        column.startswith(SPREAD_PREFIX) for column in speaker_columns
    ):
        return None
    return config.model_copy(
        update={
            # Read without a baseline, a clip's absolute level and spectrum say more about its channel
            # than its speaker's arousal.
            "feature_set": FeatureView.VOICE if config.feature_set is FeatureView.BOTH else config.feature_set,
            "late_fusion": (),
            "normalisation": Normalisation.CORPUS,
            "calm_shares": (),
            "measure_calibration": False,
            "companion_channels": (),
        }
    )


def without_baseline(frame: pd.DataFrame, speaker_columns: list[str]) -> np.ndarray:
    """True for rows read without a baseline of their own speaker: every ``spread.`` column NaN."""
    spread = [column for column in speaker_columns if column.startswith(SPREAD_PREFIX)]
    if not spread:
        return np.zeros(len(frame), dtype=bool)
    return frame[spread].isna().all(axis=1).to_numpy()


# Calm clips a training speaker needs for a spread of their calm speech alone (as for a baseline by default).
MIN_CALM_CLIPS = 5


class HomogeneityGate(BaseModel):
    """Tells a speaker whose clips hardly vary from a varied one, by the ``spread.`` columns.

    A baseline over all of a speaker's clips means "this speaker's usual": for a training actor
    whose clips mix calm and aroused speech that is mildly aroused, for a speaker calm in every
    clip it is calm, and the speaker model reads the second as the first (only 23-29 % of calm-only
    speakers called calm). A speaker whose spread score (the mean, over the spread columns, of the
    column standardised over the training speakers) falls below ``threshold`` is read clip by clip by
    the companion instead, and their clips are read together, by the speaker's class mix
    (:func:`~vietser.acoustic.priors.adjust_to_speaker_mix`). ``threshold`` lies halfway between the
    training speakers' mean score over all of their clips (0) and over their calm clips alone.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: list[str]
    mean: list[float]
    std: list[float]
    threshold: float

    @classmethod
    def fit(cls, clips: pd.DataFrame, speaker_columns: list[str]) -> HomogeneityGate | None:
        """The gate of training ``clips`` (raw, ``z.`` and ``spread.`` columns, ``label``, ``speaker``);
        None when no speaker has both a spread and enough calm clips."""
        # Each view of a late fusion lists the spread columns again; the score is their mean, so once each.
        columns = list(dict.fromkeys(column for column in speaker_columns if column.startswith(SPREAD_PREFIX)))
        full = clips.dropna(subset=columns).groupby(SPEAKER_COLUMN)[columns].first()
        raw = [column.removeprefix(SPREAD_PREFIX) for column in columns]
        calm = clips[clips["label"] == Emotion.CALM.value].groupby(SPEAKER_COLUMN)[raw]
        calm_spread = np.log(np.maximum(calm.std(ddof=1)[calm.size() >= MIN_CALM_CLIPS], MIN_STD))
        if full.empty or calm_spread.empty:
            return None
        mean, std = full.mean(), full.std(ddof=1).replace(0.0, 1.0).fillna(1.0)
        calm_score = np.nanmean((calm_spread.to_numpy() - mean.to_numpy()) / std.to_numpy(), axis=1)
        return cls(columns=columns, mean=mean.tolist(), std=std.tolist(), threshold=float(np.nanmean(calm_score) / 2))

    def homogeneous(self, frame: pd.DataFrame) -> np.ndarray:
        """True for rows whose speaker's clips vary less than the threshold says a varied speaker's do
        (False where the spread is missing: such a row has no baseline to mislead)."""
        spread = frame[self.columns].to_numpy(dtype=np.float64)
        score = ((spread - np.array(self.mean)) / np.array(self.std)).mean(axis=1)
        return np.nan_to_num(score, nan=np.inf) < self.threshold
