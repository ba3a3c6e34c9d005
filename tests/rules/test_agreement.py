from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vietser.errors import ManifestError
from vietser.rules.agreement import disagreement_cues, majority_labels


def _frame(votes: list[list[object]], labels: list[str] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(votes, columns=[f"annotator_{i}" for i in range(len(votes[0]))])
    if labels is not None:
        frame["label"] = labels
    return frame


def test_majority_label_carries_the_fraction_of_agreeing_votes() -> None:
    majority = majority_labels(_frame([["panic", "panic", "calm"]]))

    assert (majority.label[0], majority.agreement[0], majority.votes[0]) == ("panic", 2 / 3, 3)


def test_tied_votes_go_to_the_label_column() -> None:
    majority = majority_labels(_frame([["angry", "panic"]], labels=["panic"]))

    assert (majority.label[0], majority.agreement[0]) == ("panic", 0.5)


def test_tied_votes_without_label_column_go_to_class_order() -> None:
    majority = majority_labels(_frame([["panic", "angry"]]))

    assert majority.label[0] == "angry"


def test_clip_without_votes_takes_its_label_with_full_agreement() -> None:
    majority = majority_labels(_frame([[None, " ", math.nan]], labels=["calm"]))

    assert (majority.label[0], majority.agreement[0], majority.votes[0]) == ("calm", 1.0, 0)


def test_without_annotator_columns_the_label_column_is_used() -> None:
    majority = majority_labels(pd.DataFrame({"label": ["angry", "calm"]}))

    assert list(majority.label) == ["angry", "calm"]
    assert majority.source == "column 'label'"


def test_unknown_annotator_label_is_rejected() -> None:
    with pytest.raises(ManifestError, match=r"unknown labels \['bored'\]"):
        majority_labels(_frame([["bored", "bored", "calm"]]))


def test_frame_without_labels_or_annotators_is_rejected() -> None:
    with pytest.raises(ManifestError, match="nothing to learn from"):
        majority_labels(pd.DataFrame({"z.prosody.speech_rate": [0.1]}))


def test_disagreement_cue_is_cohens_d_of_split_against_unanimous_clips() -> None:
    split = np.array([2.0, 3.0, 4.0])
    unanimous = np.array([0.0, 1.0, 0.5, -0.5])
    frame = _frame(
        [["calm", "angry", "calm"]] * 3 + [["calm", "calm", "calm"]] * 4 + [["calm", None, None]]
    )
    frame["z.prosody.speech_rate"] = [*split, *unanimous, 100.0]
    pooled = math.sqrt((2 * split.var(ddof=1) + 3 * unanimous.var(ddof=1)) / 5)

    [cue] = disagreement_cues(frame, ["z.prosody.speech_rate"], majority_labels(frame))

    assert cue.feature == "prosody.speech_rate"
    assert cue.effect_size == pytest.approx((split.mean() - unanimous.mean()) / pooled)
    assert (cue.n_disagreed, cue.n_agreed) == (3, 4)
