"""Speaker-independent splits: every speaker's clips in one of train, dev and test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vietser.data.label_map import LabelMapSpec
from vietser.data.manifest import has_split_column, load_manifest, speaker_id
from vietser.errors import ConfigError, ManifestError
from vietser.labels import SPLITS


def _split_sizes(n_speakers: int, dev_fraction: float, test_fraction: float) -> tuple[int, int]:
    def share(fraction: float) -> int:
        return max(1, int(n_speakers * fraction + 0.5)) if fraction > 0 and n_speakers >= 2 else 0

    n_dev, n_test = share(dev_fraction), share(test_fraction)
    # At least one training speaker; with too few speakers dev gives way first.
    while n_dev + n_test > n_speakers - 1:
        if n_dev >= n_test and n_dev > 0:
            n_dev -= 1
        else:
            n_test -= 1
    return n_dev, n_test


def assign_speaker_splits(
    frame: pd.DataFrame,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> pd.DataFrame:
    """Return a copy of ``frame`` with ``split`` assigned by speaker.

    Speakers (not clips) are shuffled with ``seed`` and dealt out so that the
    number of speakers per split follows the fractions. Every split with a
    positive fraction gets a speaker once there are three speakers; with two,
    one trains and the other is held out for test (no dev); one speaker trains.
    Speakers are compared by :func:`speaker_id` (NFC). The result depends only
    on the set of speakers and ``seed``.
    """
    if "speaker" not in frame.columns:
        raise ManifestError("cannot assign speaker splits: the frame has no speaker column.")
    if min(dev_fraction, test_fraction) < 0 or dev_fraction + test_fraction >= 1:
        raise ConfigError(
            f"dev_fraction={dev_fraction} and test_fraction={test_fraction} must be non-negative "
            "and leave a share for training (sum below 1)."
        )
    ids = frame["speaker"].astype(str).map(speaker_id)
    speakers = sorted(ids.unique())
    n_dev, n_test = _split_sizes(len(speakers), dev_fraction, test_fraction)
    order = np.random.default_rng(seed).permutation(len(speakers))
    names = ["test"] * n_test + ["dev"] * n_dev + ["train"] * (len(speakers) - n_dev - n_test)
    split_of = {speakers[index]: name for index, name in zip(order, names)}
    result = frame.copy()
    result["split"] = ids.map(split_of)
    return result


@dataclass(frozen=True)
class TrainingManifest:
    """A manifest ready to train on, and whether its splits were dealt out here (it had no ``split``)."""

    frame: pd.DataFrame
    dealt: bool
    seed: int

    def notice(self, source: str | Path) -> str:
        """One line for the user on how the splits were dealt out, speakers per split."""
        speakers = self.frame.groupby("split")["speaker"].nunique()
        counts = ", ".join(f"{split} {speakers.get(split, 0)}" for split in SPLITS)
        return f"{source} has no split column: speakers dealt out at random (seed {self.seed}): {counts} speakers"


def load_training_manifest(
    path: str | Path,
    label_map: LabelMapSpec | None = None,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> TrainingManifest:
    """Read a manifest to train on: its own ``split`` column, or, when it has none, a speaker-independent
    split by :func:`assign_speaker_splits` with these fractions and ``seed``.

    Raises:
        ManifestError: the manifest cannot be used (see :func:`~vietser.data.manifest.load_manifest`).
        ConfigError: the fractions leave no share for training.
    """
    if has_split_column(path):
        return TrainingManifest(load_manifest(path, label_map), dealt=False, seed=seed)
    frame = load_manifest(path, label_map, default_split="train")
    return TrainingManifest(assign_speaker_splits(frame, dev_fraction, test_fraction, seed), dealt=True, seed=seed)
