"""The development set: everything rulebook refinement may read, and nothing from the test split.

A :class:`DevSet` holds, per dev clip, its evidence (raw and speaker-relative
feature values), the acoustic probabilities, the route the fixed router gave it,
the true label and, when present, annotator votes, speaker and transcript.
:meth:`DevSet.from_frame` refuses any row whose ``split`` is not ``"dev"``, so
refinement cannot read a test clip by accident.

Example::

    dev_rows = features[features.split == "dev"]
    dev = DevSet.from_frame(dev_rows, probabilities, evidence, routes)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from vietser.decision import ClipEvidence, Route
from vietser.errors import ConfigError, ManifestError
from vietser.features.catalog import Z_PREFIX
from vietser.labels import CLASSES, annotator_columns
from vietser.rules.engine import acoustic_prior

DEV_SPLIT = "dev"
_REQUIRED_COLUMNS = ("clip_id", "label", "split")


@dataclass(frozen=True, eq=False)
class DevSet:
    """Dev-split clips, aligned by position: ids, evidence, probabilities, routes, labels.

    Args:
        probabilities: shape (n, 3), columns in CLASSES order.
        votes: optional annotator_* columns, one row per clip (empty cell = no vote).
        speakers: optional speaker per clip (lets the bootstrap resample whole speakers).
    """

    clip_ids: tuple[str, ...]
    evidence: tuple[ClipEvidence, ...]
    probabilities: np.ndarray
    routes: tuple[Route, ...]
    labels: tuple[str, ...]
    votes: pd.DataFrame | None = None
    speakers: tuple[str, ...] | None = None
    transcripts: tuple[str | None, ...] | None = None
    _columns: dict[tuple[str, str], np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        n = len(self.clip_ids)
        probabilities = np.array(self.probabilities, dtype=float)
        if probabilities.shape != (n, len(CLASSES)):
            raise ConfigError(
                f"probabilities have shape {probabilities.shape}; expected ({n}, {len(CLASSES)}) "
                "in CLASSES order, one row per dev clip"
            )
        probabilities.setflags(write=False)
        object.__setattr__(self, "probabilities", probabilities)
        _check_lengths(
            n,
            evidence=self.evidence,
            routes=self.routes,
            labels=self.labels,
            speakers=self.speakers,
            transcripts=self.transcripts,
            votes=self.votes,
        )
        mismatched = [i for i, (c, e) in enumerate(zip(self.clip_ids, self.evidence)) if c != e.clip_id]
        if mismatched:
            i = mismatched[0]
            raise ConfigError(
                f"evidence is not aligned with the clips: row {i} is {self.clip_ids[i]!r} but its "
                f"evidence is for {self.evidence[i].clip_id!r}; build evidence from the same rows"
            )
        unknown = sorted({label for label in self.labels if label not in CLASSES})
        if unknown:
            raise ManifestError(f"labels {unknown} are not among {list(CLASSES)}; map them first")

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        probabilities: np.ndarray,
        evidence: Sequence[ClipEvidence],
        routes: Sequence[Route],
    ) -> DevSet:
        """Build from dev rows of the features table (or manifest) and their pipeline outputs.

        Raises:
            ConfigError: a row's split is not "dev" (refinement never reads other splits),
                or the inputs are not one per row.
            ManifestError: a required column is missing or a label is unknown.
        """
        missing = [c for c in _REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise ManifestError(f"frame has no columns {missing}; pass rows of the features table")
        _require_dev_rows(frame)
        annotators = annotator_columns(frame)
        return cls(
            clip_ids=tuple(frame["clip_id"].astype(str)),
            evidence=tuple(evidence),
            probabilities=np.asarray(probabilities, dtype=float),
            routes=tuple(Route(route) for route in routes),
            labels=tuple(frame["label"].astype(str)),
            votes=frame[annotators].reset_index(drop=True) if annotators else None,
            speakers=tuple(frame["speaker"].astype(str)) if "speaker" in frame.columns else None,
            transcripts=_transcripts(frame),
        )

    def __len__(self) -> int:
        return len(self.clip_ids)

    @cached_property
    def truth(self) -> np.ndarray:
        """True labels as indices into CLASSES."""
        return np.array([CLASSES.index(label) for label in self.labels], dtype=np.int64)

    @cached_property
    def delegated(self) -> np.ndarray:
        """Boolean mask of the clips the router sent to a reasoner."""
        return np.array([route == Route.DELEGATED for route in self.routes], dtype=bool)

    @cached_property
    def acoustic(self) -> np.ndarray:
        """The acoustic model's labels as indices into CLASSES (first class wins ties)."""
        return np.argmax(self.probabilities, axis=1)

    @cached_property
    def prior(self) -> np.ndarray:
        """Acoustic probabilities as the rule engine reads them (renormalised; uniform if unusable)."""
        rows = [acoustic_prior(dict(zip(CLASSES, map(float, p))))[0] for p in self.probabilities]
        return np.array([[row[c] for c in CLASSES] for row in rows], dtype=float)

    @cached_property
    def z_features(self) -> tuple[str, ...]:
        """Raw names of every feature with a z-score on at least one clip, sorted."""
        names = {key.removeprefix(Z_PREFIX) for e in self.evidence for key in e.z}
        return tuple(sorted(names))

    def column(self, feature: str, scale: str = "z") -> np.ndarray:
        """One feature over all clips, as the rule engine reads it; NaN where missing.

        ``scale="z"`` looks up the z-score under the raw name, then under ``z.<name>``;
        ``scale="raw"`` reads the raw value.
        """
        key = (feature, scale)
        if key not in self._columns:
            if scale == "raw":
                values = [e.values.get(feature) for e in self.evidence]
            else:
                values = [e.z.get(feature, e.z.get(Z_PREFIX + feature)) for e in self.evidence]
            array = np.array([np.nan if v is None else v for v in values], dtype=float)
            array[~np.isfinite(array)] = np.nan
            array.setflags(write=False)
            self._columns[key] = array
        return self._columns[key]

    def z_matrix(self, features: Sequence[str] | None = None) -> np.ndarray:
        """z-scores, shape (n clips, n features), NaN where missing; default every z feature."""
        names = self.z_features if features is None else features
        if not names:
            return np.empty((len(self), 0))
        return np.column_stack([self.column(name) for name in names])


def _check_lengths(n: int, **parts: Sequence[object] | pd.DataFrame | None) -> None:
    for name, part in parts.items():
        if part is not None and len(part) != n:
            raise ConfigError(f"{name} has {len(part)} entries for {n} dev clips; pass one per clip")


def _require_dev_rows(frame: pd.DataFrame) -> None:
    splits = frame["split"].astype(str)
    other = frame[splits != DEV_SPLIT]
    if not other.empty:
        counts = other["split"].astype(str).value_counts().to_dict()
        raise ConfigError(
            f"refinement reads only the dev split, but the frame has {counts} rows of other splits "
            f"(e.g. {other['clip_id'].iloc[0]!r}); pass frame[frame.split == 'dev']"
        )


def _transcripts(frame: pd.DataFrame) -> tuple[str | None, ...] | None:
    if "transcript" not in frame.columns:
        return None
    return tuple(t if isinstance(t, str) and t else None for t in frame["transcript"])
