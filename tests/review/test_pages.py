"""Server-rendered pages and their form posts (the browser flow is in test_browser.py)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from vietser.review import ReviewStore


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_clip_page_shows_audio_evidence_in_both_languages_and_rules(client: TestClient) -> None:
    html = client.get("/clips/clips%2Fa.wav").text
    assert '<audio id="clip-audio" controls preload="metadata" src="/audio/clips%2Fa.wav">' in html
    assert "loudness +2.3 SD vs this speaker&#39;s baseline" in html
    assert "độ lệch chuẩn so với mức nền" in html
    assert "Nói to là dấu hiệu tức giận." in html


def test_unknown_clip_page_is_404(client: TestClient) -> None:
    assert client.get("/clips/nothing.wav").status_code == 404


def test_queue_page_shows_progress_and_links_the_first_clip(client: TestClient) -> None:
    html = client.get("/").text
    assert '<strong id="done">0</strong> done / <strong id="remaining">3</strong> remaining' in html
    assert 'id="start" href="/clips/clips%2Fa.wav"' in html


def test_last_review_in_the_queue_returns_to_the_queue_page(client: TestClient) -> None:
    csrf = csrf_of(client.get("/clips/clips%2Fc.wav").text)
    for clip in ["clips/a.wav", "clips/b.wav", "clips/c.wav"]:
        response = client.post(
            "/review",
            data={"clip_id": clip, "label": "calm", "reviewer": "bob", "csrf_token": csrf},
            follow_redirects=False,
        )
    assert response.headers["location"] == "/"
    assert "Every clip in the queue has been reviewed by bob" in client.get("/").text


def test_review_form_without_a_label_is_refused_with_the_reason(client: TestClient) -> None:
    csrf = csrf_of(client.get("/clips/clips%2Fa.wav").text)
    response = client.post("/review", data={"clip_id": "clips/a.wav", "reviewer": "bob", "csrf_token": csrf})
    assert response.status_code == 422
    assert "label" in response.json()["detail"]


def test_proposal_form_saves_only_the_ticked_conditions(client: TestClient, review_run) -> None:
    csrf = csrf_of(client.get("/clips/clips%2Fa.wav").text)
    form = {
        "clip_id": "clips/a.wav",
        "reviewer": "bob",
        "label": "panic",
        "feature": ["prosody.speech_rate", "prosody.f0_range_st"],
        "op": [">=", "<="],
        "value": ["1.5", "-1"],
        "include": ["1"],
        "csrf_token": csrf,
    }
    response = client.post("/propose", data=form, follow_redirects=False)
    assert response.headers["location"] == "/clips/clips%2Fa.wav?proposed=1"
    [proposal] = ReviewStore(review_run / "reviews.sqlite").proposals()
    assert proposal.rule["when"] == [{"feature": "prosody.f0_range_st", "op": "<=", "value": -1.0, "scale": "z"}]
    assert "Rule proposal #1 saved." in client.get(response.headers["location"]).text


def test_proposal_form_with_no_condition_ticked_is_refused(client: TestClient) -> None:
    csrf = csrf_of(client.get("/clips/clips%2Fa.wav").text)
    form = {
        "clip_id": "clips/a.wav",
        "reviewer": "bob",
        "label": "panic",
        "feature": ["x"],
        "op": [">="],
        "value": ["1"],
        "csrf_token": csrf,
    }
    response = client.post("/propose", data=form)
    assert response.status_code == 422
    assert "conditions" in response.json()["detail"]
