"""End to end in headless Chromium: queue → clip → label two clips by keyboard → store and export; a call's
timeline → play a segment → correct it."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from tests.review.conftest import LiveServer, measure_predictor, write_call
from vietser.review import ReviewStore, create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def chromium_page() -> Iterator[Page]:
    """A page in Debian's headless Chromium (skipped without it, except under CI=true)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); required when CI=true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.set_default_timeout(15_000)
        yield page
        browser.close()


def test_reviewer_labels_two_clips_by_keyboard_and_export_holds_them(
    review_run: Path, live_server: LiveServer, chromium_page: Page
) -> None:
    base = live_server(create_app(review_run, predictor=measure_predictor))
    page = chromium_page
    queue = httpx.get(f"{base}/api/queue").json()
    first, second, third = (item["clip_id"] for item in queue["items"])

    page.goto(f"{base}/")
    assert page.locator("#remaining").inner_text() == "3"
    page.click("#start")
    page.wait_for_url(f"{base}/clips/{quote(first, safe='')}")
    assert page.locator("#clip-audio").get_attribute("src") == f"/audio/{quote(first, safe='')}"
    assert page.eval_on_selector("#clip-audio", "a => a.paused")

    page.fill("#reviewer", "alice")
    page.keyboard.press("Escape")
    page.keyboard.press("2")
    assert page.locator('input[name="label"][value="angry"]').is_checked()
    assert page.locator("#proposal-label").input_value() == "angry"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-clip.png"), full_page=True)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/clips/{quote(second, safe='')}")

    page.keyboard.press("3")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/clips/{quote(third, safe='')}")
    page.goto(f"{base}/")
    assert page.locator("#done").inner_text() == "2"
    page.screenshot(path=str(ARTIFACTS / "review-queue.png"), full_page=True)

    reviews = ReviewStore(review_run / "reviews.sqlite").reviews()
    assert [(r.clip_id, r.reviewer, r.label) for r in reviews] == [
        (first, "alice", "angry"),
        (second, "alice", "panic"),
    ]
    exported = list(csv.DictReader(io.StringIO(httpx.get(f"{base}/api/export").text)))
    votes = {row["path"]: row["annotator_alice"] for row in exported}
    assert votes == {first: "angry", second: "panic", "clips/c.wav": "", "clips/d.wav": ""}


def test_a_click_on_a_segment_plays_it_and_the_correction_is_stored(
    review_run: Path, tmp_path: Path, live_server: LiveServer, chromium_page: Page
) -> None:
    _, calls = write_call(tmp_path)
    base = live_server(create_app(review_run, calls=[calls], predictor=measure_predictor))
    page = chromium_page
    clip_id = "call-1/caller/00002.000"

    page.goto(f"{base}/")
    page.click('a[href="/calls/call-1"]')
    page.wait_for_url(f"{base}/calls/call-1")
    assert page.locator("#segment-save").is_disabled()
    page.click(f'a.segment[data-clip="{clip_id}"]')
    assert page.url == f"{base}/calls/call-1"
    assert page.locator("#segment-clip").input_value() == clip_id
    assert "caller 2.0–3.0 s: panic by rules (delegated)" in page.locator("#segment-summary").inner_text()
    page.wait_for_function("() => document.getElementById('segment-audio').currentTime > 0.1")
    assert page.eval_on_selector("#segment-audio", "a => a.duration") == pytest.approx(1.0, abs=0.01)
    page.screenshot(path=str(ARTIFACTS / "review-call.png"), full_page=True)

    page.check('#call-review-form input[name="label"][value="angry"]')
    page.fill("#reviewer", "dana")
    page.click("#segment-save")
    page.wait_for_url(f"{base}/calls/call-1#{quote(clip_id, safe='')}")

    assert page.locator("#segment-clip").input_value() == clip_id
    assert "reviewed angry by dana" in page.locator("#segment-summary").inner_text()
    [review] = ReviewStore(review_run / "reviews.sqlite").reviews()
    assert (review.clip_id, review.label, review.previous_label) == (clip_id, "angry", "panic")
