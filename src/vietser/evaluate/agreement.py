"""Agreement between annotators: Fleiss' kappa, per-item agreement and majority labels.

Votes come from the manifest's ``annotator_<name>`` columns; an empty cell is
no vote. Fleiss' kappa is statsmodels' when every item has the same number of
votes; otherwise it uses the usual generalisation to varying numbers of
raters (each item's pairwise agreement over its own votes, chance agreement
from the pooled category shares), which equals Fleiss' formula when the
counts are equal. Items with fewer than two votes carry no agreement
information and are left out of both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from statsmodels.stats.inter_rater import fleiss_kappa

from vietser.errors import ManifestError
from vietser.labels import ANNOTATOR_PREFIX, annotator_columns
from vietser.votes import count_votes, majority_vote


class AgreementReport(BaseModel):
    """Summary of how much annotators agree."""

    model_config = ConfigDict(extra="forbid")

    n_items: int
    n_annotators: int
    n_votes: int
    n_single_vote_items: int
    fleiss_kappa: float
    mean_item_agreement: float
    unanimous_share: float
    per_class_agreement: dict[str, float]
    majority_matches_label: float | None = None


def vote_counts(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Votes per item (rows, frame index) and category (columns; CLASSES first, then any others sorted).

    Raises:
        ManifestError: the frame has no annotator columns, or they hold no votes.
    """
    columns = list(columns) if columns is not None else annotator_columns(frame)
    if not columns:
        raise ManifestError(
            f"no {ANNOTATOR_PREFIX}* columns in the manifest; "
            "add one column of labels per annotator to measure agreement"
        )
    counts = count_votes(frame, columns)
    if counts.columns.empty:
        raise ManifestError(f"the annotator columns {columns} hold no votes; fill in labels or drop the columns")
    return counts


def item_agreement(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Per item: ``n_votes``, ``majority`` (None on a tie or no votes: :func:`vietser.votes.majority_vote`
    with ``"no_majority"``) and ``agreement``.

    ``agreement`` is the share of the item's votes that name its most-voted
    class (NaN without votes). The result is indexed like ``frame``.
    """
    majority = majority_vote(vote_counts(frame, columns), "no_majority")
    return pd.DataFrame(
        {"n_votes": majority.votes, "majority": majority.label, "agreement": majority.agreement}, index=frame.index
    )


def agreement_report(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> AgreementReport:
    """Fleiss' kappa and per-item agreement of a manifest's annotator columns.

    Raises:
        ManifestError: no annotator columns, or no item with two or more votes.
    """
    columns = list(columns) if columns is not None else annotator_columns(frame)
    counts = vote_counts(frame, columns)
    items = item_agreement(frame, columns)
    rated = items["n_votes"] >= 2
    if not rated.any():
        raise ManifestError("no clip has two or more annotator votes; agreement needs at least two votes per clip")
    items = items[rated]
    per_class = items.dropna(subset=["majority"]).groupby("majority")["agreement"].mean()
    matches = None
    if "label" in frame.columns:
        matches = float((items["majority"] == frame.loc[items.index, "label"]).mean())
    return AgreementReport(
        n_items=int(rated.sum()),
        n_annotators=len(columns),
        n_votes=int(items["n_votes"].sum()),
        n_single_vote_items=int((counts.sum(axis=1) == 1).sum()),
        fleiss_kappa=fleiss_kappa_from_counts(counts[rated].to_numpy()),
        mean_item_agreement=float(items["agreement"].mean()),
        unanimous_share=float((items["agreement"] == 1.0).mean()),
        per_class_agreement={str(name): float(value) for name, value in per_class.items()},
        majority_matches_label=matches,
    )


def fleiss_kappa_from_counts(counts: np.ndarray) -> float:
    """Fleiss' kappa of an items x categories vote-count table (NaN when chance agreement is 1)."""
    counts = np.asarray(counts, dtype=float)
    per_item = counts.sum(axis=1)
    if np.any(per_item < 2):
        raise ValueError("every item needs at least two votes for Fleiss' kappa")
    shares = counts.sum(axis=0) / counts.sum()
    chance = float(np.sum(shares**2))
    if np.isclose(chance, 1.0):
        return float("nan")
    if np.all(per_item == per_item[0]):
        return float(fleiss_kappa(counts, method="fleiss"))
    observed = np.mean((np.sum(counts**2, axis=1) - per_item) / (per_item * (per_item - 1)))
    return float((observed - chance) / (1.0 - chance))
