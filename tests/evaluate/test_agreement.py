"""Fleiss' kappa, per-item agreement and majority labels from annotator columns."""

from __future__ import annotations

import pandas as pd
import pytest

from vietser.errors import ManifestError
from vietser.evaluate.agreement import agreement_report, fleiss_kappa_from_counts, item_agreement

# Fleiss (1971) / Wikipedia worked example: 10 subjects, 14 raters, 5 categories, kappa 0.210.
WIKIPEDIA_COUNTS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def votes_frame(votes: list[list[str]], labels: list[str] | None = None) -> pd.DataFrame:
    width = max(len(row) for row in votes)
    frame = pd.DataFrame(
        [row + [""] * (width - len(row)) for row in votes], columns=[f"annotator_{i}" for i in range(width)]
    )
    frame.insert(0, "clip_id", [f"c{i}.wav" for i in range(len(votes))])
    if labels is not None:
        frame.insert(1, "label", labels)
    return frame


def test_kappa_matches_the_wikipedia_example() -> None:
    categories = ["c1", "c2", "c3", "c4", "c5"]
    votes = [[c for c, k in zip(categories, row) for _ in range(k)] for row in WIKIPEDIA_COUNTS]
    report = agreement_report(votes_frame(votes))
    assert report.fleiss_kappa == pytest.approx(0.210, abs=5e-4)
    assert (report.n_items, report.n_annotators, report.n_votes) == (10, 14, 140)


def test_perfect_agreement_has_kappa_one() -> None:
    votes = [["calm"] * 3, ["angry"] * 3, ["panic"] * 3, ["calm"] * 3]
    report = agreement_report(votes_frame(votes))
    assert report.fleiss_kappa == pytest.approx(1.0)
    assert report.unanimous_share == 1.0


def test_unequal_vote_counts_use_the_generalised_kappa() -> None:
    # P_i = 1, 1, 1/3; pooled shares 4/8 and 4/8 -> chance 0.5; kappa = (7/9 - 0.5) / 0.5 = 5/9
    votes = [["calm", "calm", "calm"], ["angry", "angry"], ["calm", "angry", "angry"]]
    assert agreement_report(votes_frame(votes)).fleiss_kappa == pytest.approx(5 / 9)


def test_empty_votes_are_ignored() -> None:
    items = item_agreement(votes_frame([["calm", "", "calm", "angry"], ["panic", " ", "panic", "panic"]]))
    assert items["n_votes"].tolist() == [3, 3]
    assert items["agreement"].tolist() == pytest.approx([2 / 3, 1.0])
    assert items["majority"].tolist() == ["calm", "panic"]


def test_tied_votes_have_no_majority() -> None:
    items = item_agreement(votes_frame([["calm", "angry"], ["panic", "panic"]]))
    assert items["majority"].tolist() == [None, "panic"]


def test_report_compares_majority_with_the_label_and_summarises_per_class() -> None:
    votes = [["calm", "calm", "angry"], ["angry", "angry", "angry"], ["panic", "panic", "calm"]]
    report = agreement_report(votes_frame(votes, labels=["calm", "angry", "calm"]))
    assert report.majority_matches_label == pytest.approx(2 / 3)
    assert report.per_class_agreement == pytest.approx({"calm": 2 / 3, "angry": 1.0, "panic": 2 / 3})


def test_single_vote_items_are_left_out_and_counted() -> None:
    votes = [["calm", "calm"], ["angry", "angry"], ["panic"]]
    report = agreement_report(votes_frame(votes))
    assert (report.n_items, report.n_single_vote_items) == (2, 1)


def test_a_manifest_without_annotator_columns_is_rejected() -> None:
    with pytest.raises(ManifestError, match="annotator_"):
        agreement_report(pd.DataFrame({"clip_id": ["a.wav"], "label": ["calm"]}))


def test_annotator_columns_without_votes_are_rejected() -> None:
    with pytest.raises(ManifestError, match="hold no votes"):
        item_agreement(votes_frame([["", ""], ["", ""]]))


def test_kappa_of_counts_needs_two_votes_per_item() -> None:
    with pytest.raises(ValueError, match="two votes"):
        fleiss_kappa_from_counts([[1, 0, 0], [2, 0, 0]])
