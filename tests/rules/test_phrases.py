from __future__ import annotations

import pytest

from vietser.rules.phrases import fold, fold_all, mentions, words


def test_fold_drops_diacritics_and_d_stroke_and_isolates_punctuation() -> None:
    assert fold("Đừng! Cứu với, CHÁY rồi.") == "dung . cuu voi . chay roi ."


@pytest.mark.parametrize("text", ["Cứu với, nhà tôi cháy!", "cuu voi nha toi chay", "CỨU VỚI"])
def test_a_phrase_matches_with_and_without_diacritics(text: str) -> None:
    assert mentions(fold_all([text]), ["cứu với"]).tolist() == [True]
    assert mentions(fold_all([text]), ["cuu voi"]).tolist() == [True]


@pytest.mark.parametrize("negated", ["không cháy đâu", "chẳng cháy gì", "chưa cháy", "khong chay"])
def test_a_negator_right_before_the_phrase_cancels_it(negated: str) -> None:
    assert mentions(fold_all([negated]), ["cháy"]).tolist() == [False]


def test_a_later_unnegated_occurrence_still_counts_and_a_comma_breaks_negation() -> None:
    texts = fold_all(["không cháy, mà cháy thật rồi", "không, cháy rồi"])
    assert mentions(texts, ["cháy"]).tolist() == [True, True]


def test_a_phrase_that_starts_with_a_negator_is_not_cancelled_by_itself() -> None:
    assert mentions(fold_all(["Con tôi không thở được!"]), ["không thở được"]).tolist() == [True]


def test_whole_words_only_and_missing_transcripts_never_match() -> None:
    texts = fold_all(["cấp cứu", "cứuu", None, float("nan")])  # type: ignore[list-item]
    assert mentions(texts, ["cứu"]).tolist() == [True, False, False, False]


def test_words_keep_the_diacritics_and_drop_punctuation() -> None:
    assert words("Cứu với, cháy!") == ["cứu", "với", "cháy"]
