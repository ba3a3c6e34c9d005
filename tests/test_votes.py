"""One majority vote, two tie policies: nobody wins a tie (agreement) or the clip's own label does (rules)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from vietser.evaluate.agreement import item_agreement
from vietser.rules.agreement import majority_labels
from vietser.votes import count_votes, majority_vote

VOTES = pd.DataFrame(
    {
        "annotator_a": ["calm", "panic", "angry", " ", "bored", "panic"],
        "annotator_b": ["calm", "angry", "panic", None, "zany", "panic"],
        "annotator_c": ["angry", "", "calm", math.nan, "", "angry"],
    },
    index=[10, 11, 12, 13, 14, 15],
)


def test_votes_are_counted_per_class_with_the_classes_first_and_empty_cells_left_out() -> None:
    counts = count_votes(VOTES, list(VOTES.columns))

    assert list(counts.columns) == ["calm", "angry", "panic", "bored", "zany"]
    assert counts.loc[10].tolist() == [2, 1, 0, 0, 0]
    assert counts.loc[13].sum() == 0
    assert list(counts.index) == [10, 11, 12, 13, 14, 15]


def test_without_a_majority_policy_a_tie_has_no_winner() -> None:
    majority = majority_vote(count_votes(VOTES, list(VOTES.columns)), "no_majority")

    assert majority.label.tolist() == ["calm", None, None, None, None, "panic"]
    assert majority.votes.tolist() == [3, 2, 3, 0, 2, 3]
    assert majority.agreement.tolist()[:3] == pytest.approx([2 / 3, 1 / 2, 1 / 3])
    assert math.isnan(majority.agreement[13])


def test_with_the_prefer_label_policy_a_tie_goes_to_the_label_when_tied_else_to_column_order() -> None:
    labels = pd.Series(["panic", "panic", "panic", "calm", "zany", "calm"], index=VOTES.index)

    majority = majority_vote(count_votes(VOTES, list(VOTES.columns)), "prefer_label", labels)

    # 10, 15: a clear majority wins over the label; 11, 12, 14: the tied label wins;
    # 13: no votes, no winner (the caller decides what an unvoted clip gets).
    assert majority.label.tolist() == ["calm", "panic", "panic", None, "zany", "panic"]


def test_with_the_prefer_label_policy_an_untied_or_missing_label_leaves_the_tie_to_column_order() -> None:
    labels = pd.Series(["calm", "calm", math.nan, None, 3, "angry"], index=VOTES.index)

    majority = majority_vote(count_votes(VOTES, list(VOTES.columns)), "prefer_label", labels)

    assert majority.label.tolist() == ["calm", "angry", "calm", None, "bored", "panic"]


def test_both_callers_agree_except_on_ties_where_only_rule_learning_picks_a_label() -> None:
    frame = VOTES.drop(index=[13, 14]).assign(label=["angry", "panic", "panic", "angry"])

    items = item_agreement(frame)
    rules = majority_labels(frame)

    assert items["majority"].tolist() == ["calm", None, None, "panic"]
    assert rules.label.tolist() == ["calm", "panic", "panic", "panic"]
    assert items["agreement"].tolist() == pytest.approx(rules.agreement.tolist())
    assert items["n_votes"].tolist() == rules.votes.tolist()
