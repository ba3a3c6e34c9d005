"""Annotator agreement: majority labels per clip and the features that separate clips
annotators disagreed on from clips they agreed on.

Example::

    majority = majority_labels(frame)          # annotator_* columns, else ``label``
    cues = disagreement_cues(frame, ["z.prosody.speech_rate"], majority)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vietser.errors import ManifestError
from vietser.features.catalog import Z_PREFIX
from vietser.labels import CLASSES, annotator_columns
from vietser.rules.rulebook import feature_info
from vietser.votes import count_votes, majority_vote


@dataclass(frozen=True)
class MajorityLabels:
    """Per clip: majority label (None if unlabelled), fraction of votes agreeing, vote count."""

    label: pd.Series
    agreement: pd.Series
    votes: pd.Series
    source: str


@dataclass(frozen=True)
class DisagreementCue:
    """A feature whose values differ between clips with split votes and unanimous clips.

    ``effect_size`` is Cohen's d (split minus unanimous, in pooled SDs): positive means
    annotators disagree more on clips where the feature is high.
    """

    feature: str
    column: str
    name: str
    effect_size: float
    mean_disagreed: float
    mean_agreed: float
    n_disagreed: int
    n_agreed: int


def require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise ManifestError naming any of ``columns`` the frame lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ManifestError(
            f"frame has no columns {missing}; check the names or extract features first"
        )


def majority_labels(
    frame: pd.DataFrame, label_col: str = "label", annotator_cols: Sequence[str] | None = None
) -> MajorityLabels:
    """Majority of the annotator columns per clip; ties go to ``label_col``, then CLASSES order
    (:func:`vietser.votes.majority_vote` with ``"prefer_label"``).

    Clips without votes take ``label_col`` with agreement 1. ``annotator_cols=None`` uses
    every ``annotator_*`` column; with none, every clip takes ``label_col``.
    """
    if annotator_cols is None:
        annotator_cols = annotator_columns(frame)
    require_columns(frame, annotator_cols)
    if not annotator_cols and label_col not in frame.columns:
        raise ManifestError(
            f"frame has no {label_col!r} column and no annotator_* columns; nothing to learn from"
        )
    fallbacks = (
        frame[label_col] if label_col in frame.columns else pd.Series(None, index=frame.index)
    )
    majority = majority_vote(count_votes(frame, annotator_cols), "prefer_label", fallbacks)
    no_votes = (majority.votes == 0) & fallbacks.map(lambda f: isinstance(f, str) and bool(f))
    label = majority.label.mask(no_votes, fallbacks)
    agreement = majority.agreement.mask(no_votes, 1.0)
    source = (
        f"majority of {', '.join(annotator_cols)}" if annotator_cols else f"column {label_col!r}"
    )
    unknown = sorted({v for v in label if v is not None and v not in CLASSES})
    if unknown:
        raise ManifestError(
            f"unknown labels {unknown} ({source}); map them onto {list(CLASSES)} first"
        )
    return MajorityLabels(label=label, agreement=agreement, votes=majority.votes, source=source)


def _cohens_d(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2 or len(b) < 2:
        return None
    pooled = ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    return float((a.mean() - b.mean()) / math.sqrt(pooled)) if pooled > 0 else None


def disagreement_cues(
    frame: pd.DataFrame, columns: Sequence[str], majority: MajorityLabels
) -> list[DisagreementCue]:
    """Feature columns ranked by |standardised mean difference| (Cohen's d) between clips
    with split votes and unanimous clips; clips with fewer than two votes are left out.

    ``majority`` may cover more clips than ``frame``; only the frame's clips are compared.
    """
    rated = (majority.votes.loc[frame.index] >= 2).to_numpy()
    agreement = majority.agreement.loc[frame.index].to_numpy()
    split, unanimous = rated & (agreement < 1), rated & (agreement >= 1)
    cues = []
    for column in columns:
        x = frame[column].to_numpy(dtype=float)
        a, b = x[split & np.isfinite(x)], x[unanimous & np.isfinite(x)]
        effect = _cohens_d(a, b)
        if effect is None:
            continue
        feature = column.removeprefix(Z_PREFIX)
        name, _ = feature_info(feature)
        cues.append(
            DisagreementCue(feature, column, name, effect, a.mean(), b.mean(), len(a), len(b))
        )
    return sorted(cues, key=lambda cue: (-abs(cue.effect_size), cue.feature))
