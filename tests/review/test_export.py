"""Reviews exported as manifest annotator columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vietser.review.export import export_manifest
from vietser.review.rundir import load_run
from vietser.review.store import ReviewStore


def test_existing_annotator_column_keeps_votes_for_clips_not_reviewed_here(review_run: Path) -> None:
    manifest = pd.read_csv(review_run / "manifest.csv", dtype=str, keep_default_na=False)
    manifest["annotator_bob"] = ["calm", "calm", "panic", ""]
    manifest.to_csv(review_run / "manifest.csv", index=False)
    store = ReviewStore(review_run / "reviews.sqlite")
    store.add_review("clips/a.wav", "bob", "angry", "", model_label="angry")
    frame = export_manifest(load_run(review_run), store.reviews())
    assert frame["annotator_bob"].tolist() == ["angry", "calm", "panic", ""]


def test_run_without_manifest_exports_every_decision_with_its_audio_path(review_run: Path) -> None:
    (review_run / "manifest.csv").unlink()
    store = ReviewStore(review_run / "reviews.sqlite")
    store.add_review("clips/b.wav", "eve", "panic", "", model_label="angry")
    frame = export_manifest(load_run(review_run), store.reviews())
    assert frame["path"].tolist() == [str(review_run / f"clips/{c}.wav") for c in "abcd"]
    assert frame["annotator_eve"].tolist() == ["", "panic", "", ""]
    assert frame["label"].tolist() == ["angry"] * 4


def test_export_without_reviews_is_the_manifest_unchanged(review_run: Path) -> None:
    frame = export_manifest(load_run(review_run), [])
    assert frame.equals(pd.read_csv(review_run / "manifest.csv", dtype=str, keep_default_na=False))
