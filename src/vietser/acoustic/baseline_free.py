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
spread columns has no companion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vietser.acoustic.config import AcousticConfig, Normalisation
from vietser.features.catalog import SPREAD_PREFIX


def companion_config(config: AcousticConfig, speaker_columns: list[str]) -> AcousticConfig | None:
    """The companion's configuration: ``config``'s first view, its raw columns; None where a model of
    ``config`` reading ``speaker_columns`` gets no companion — it reads no speaker-normalised columns, or no
    spread columns by which the rows without a baseline are told."""
    if config.normalisation is not Normalisation.SPEAKER or not any(
        column.startswith(SPREAD_PREFIX) for column in speaker_columns
    ):
        return None
    return config.model_copy(
        update={"late_fusion": (), "normalisation": Normalisation.CORPUS, "calm_shares": (), "measure_calibration": False}
    )


def without_baseline(frame: pd.DataFrame, speaker_columns: list[str]) -> np.ndarray:
    """True for rows read without a baseline of their own speaker: every ``spread.`` column NaN."""
    spread = [column for column in speaker_columns if column.startswith(SPREAD_PREFIX)]
    if not spread:
        return np.zeros(len(frame), dtype=bool)
    return frame[spread].isna().all(axis=1).to_numpy()
