"""The SQLite review store: append-only history, previous labels, concurrent writers."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.review.conftest import LiveServer, measure_predictor
from vietser.errors import ConfigError
from vietser.labels import CLASSES
from vietser.review import ReviewStore, create_app


@pytest.fixture
def store(tmp_path: Path) -> ReviewStore:
    return ReviewStore(tmp_path / "reviews.sqlite")


def test_first_review_records_the_models_label_as_previous(store: ReviewStore) -> None:
    review = store.add_review("a.wav", "bob", "panic", "", model_label="calm")
    assert review.previous_label == "calm"


def test_a_correction_records_the_reviewers_own_previous_label_and_keeps_both(store: ReviewStore) -> None:
    store.add_review("a.wav", "bob", "panic", "first", model_label="calm")
    store.add_review("a.wav", "bob", "angry", "second", model_label="calm")
    assert [(r.label, r.previous_label) for r in store.reviews(clip_id="a.wav")] == [
        ("panic", "calm"),
        ("angry", "panic"),
    ]


def test_reviews_can_be_filtered_by_reviewer(store: ReviewStore) -> None:
    store.add_review("a.wav", "bob", "panic", "", model_label="calm")
    store.add_review("a.wav", "eve", "calm", "", model_label="calm")
    assert [r.reviewer for r in store.reviews(reviewer="eve")] == ["eve"]


@pytest.mark.parametrize("statement", ["UPDATE reviews SET label = 'calm'", "DELETE FROM reviews"])
def test_reviews_cannot_be_overwritten_or_deleted(store: ReviewStore, statement: str) -> None:
    store.add_review("a.wav", "bob", "panic", "", model_label="calm")
    with sqlite3.connect(store.path) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(statement)
    assert [r.label for r in store.reviews()] == ["panic"]


def test_store_uses_write_ahead_logging(store: ReviewStore) -> None:
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unknown_label_is_refused_by_the_schema(store: ReviewStore) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store.add_review("a.wav", "bob", "sad", "", model_label="calm")


def test_rule_proposals_round_trip_with_status_proposed(store: ReviewStore) -> None:
    rule = {"id": "r1", "when": [{"feature": "prosody.speech_rate", "op": ">=", "value": 1.5}], "supports": "panic"}
    store.add_proposal("a.wav", "bob", rule)
    [saved] = store.proposals()
    assert (saved.rule, saved.status) == (rule, "proposed")


def test_unwritable_location_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="review store"):
        ReviewStore(tmp_path / "missing-folder" / "reviews.sqlite")


def test_eight_concurrent_reviewers_lose_no_review(review_run: Path, live_server: LiveServer) -> None:
    base = live_server(create_app(review_run, predictor=measure_predictor))
    clips = ["clips/a.wav", "clips/b.wav", "clips/c.wav"]
    posts_each = 10

    def review_all(reviewer: str) -> list[int]:
        with httpx.Client(base_url=base, timeout=30) as http:
            return [
                http.post(
                    "/api/reviews",
                    json={"clip_id": clips[i % 3], "label": CLASSES[i % 3], "reviewer": reviewer, "note": str(i)},
                ).status_code
                for i in range(posts_each)
            ]

    reviewers = [f"reviewer{n}" for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [code for codes in pool.map(review_all, reviewers) for code in codes]
    assert statuses == [201] * (8 * posts_each)
    reviews = ReviewStore(review_run / "reviews.sqlite").reviews()
    assert len(reviews) == 8 * posts_each
    assert {(r.reviewer, r.note) for r in reviews} == {(who, str(i)) for who in reviewers for i in range(posts_each)}
