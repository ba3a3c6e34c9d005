"""Annotator votes: how many votes each class got per clip, and the majority under an explicit tie policy.

Votes are the cells of a manifest's ``annotator_<name>`` columns, read as text and stripped; an empty
cell is no vote. Two callers need a majority and differ only in what a tie means:

* measuring agreement (:mod:`vietser.evaluate.agreement`): a tie has no majority (``"no_majority"``);
* learning rules (:mod:`vietser.rules.agreement`): every clip needs one label, so a tie goes to the
  clip's own label when it is among the tied classes, else to the first tied class in column order
  (``"prefer_label"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from vietser.labels import CLASSES

TiePolicy = Literal["no_majority", "prefer_label"]


@dataclass(frozen=True)
class Majority:
    """Per clip (the counts' index): the majority class (None without one), the share of its votes that
    name the most-voted class (NaN without votes) and its number of votes."""

    label: pd.Series
    agreement: pd.Series
    votes: pd.Series


def count_votes(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Votes per clip (rows, the frame's index) and class (columns: CLASSES first, then any others sorted);
    no columns when no cell holds a vote."""
    votes = frame[list(columns)].astype("string").apply(lambda column: column.str.strip())
    found = {str(v) for v in pd.unique(votes.to_numpy().ravel()) if not pd.isna(v) and str(v) != ""}
    classes = [c for c in CLASSES if c in found] + sorted(found - set(CLASSES))
    return pd.DataFrame({c: votes.eq(c).sum(axis=1).astype(int) for c in classes}, index=frame.index)


def majority_vote(counts: pd.DataFrame, ties: TiePolicy, labels: pd.Series | None = None) -> Majority:
    """The majority class of each row of a vote-count table (see :func:`count_votes`).

    ``ties`` says who wins a tie: nobody (``"no_majority"``), or the row's entry in ``labels`` when it is
    one of the tied classes, else the first tied class in column order (``"prefer_label"``; ``labels``
    indexed like ``counts``, a cell that is not text prefers nothing).
    """
    values = counts.to_numpy(dtype=np.int64).reshape(len(counts), len(counts.columns))
    n_votes = values.sum(axis=1)
    top = values.max(axis=1, initial=0)
    # One column more than there are classes: "no class" (None), never tied, the winner when nobody wins.
    classes = np.array([*counts.columns, None], dtype=object)
    tied = np.column_stack([(values == top[:, None]) & (top[:, None] > 0), np.zeros(len(values), dtype=bool)])
    n_tied = tied.sum(axis=1)
    winner = np.where(n_tied > 0, tied.argmax(axis=1), -1)
    if ties == "no_majority":
        winner = np.where(n_tied > 1, -1, winner)
    elif labels is not None:
        position = {name: i for i, name in enumerate(counts.columns)}
        preferred = np.array([position.get(v, -1) if isinstance(v, str) else -1 for v in labels], dtype=np.int64)
        winner = np.where(tied[np.arange(len(values)), preferred], preferred, winner)
    agreement = np.where(n_votes > 0, top / np.maximum(n_votes, 1), np.nan)
    return Majority(
        label=pd.Series(classes[winner], index=counts.index, dtype="object"),
        agreement=pd.Series(agreement, index=counts.index, dtype=float),
        votes=pd.Series(n_votes, index=counts.index, dtype=int),
    )
