"""The JSON API over a real run directory, with real uploads."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from tests.conftest import make_voice_like
from tests.review.conftest import LOOPBACK_URL, measure_predictor
from vietser.review import create_app
from vietser.rules.rulebook import Rule


def encoded(samples: np.ndarray, fmt: str = "WAV", sample_rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format=fmt)
    return buffer.getvalue()


def upload(client: TestClient, name: str, payload: bytes):
    return client.post("/api/predict", files={"file": (name, payload, "application/octet-stream")})


@pytest.mark.parametrize(
    "fmt, name", [("WAV", "call.wav"), ("FLAC", "call.flac"), ("OGG", "call.ogg"), ("MP3", "call.mp3")]
)
def test_predict_returns_a_decision_for_each_accepted_format(client: TestClient, fmt: str, name: str) -> None:
    response = upload(client, name, encoded(make_voice_like(duration_s=0.8), fmt))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["clip_id"] == name
    assert body["path"] is None
    assert body["label"] in body["probabilities"]
    assert sum(body["probabilities"].values()) == pytest.approx(1.0)


def test_predict_decision_reflects_the_uploaded_signal(client: TestClient) -> None:
    quiet = upload(client, "quiet.wav", encoded(make_voice_like(amplitude=0.01))).json()
    loud = upload(client, "loud.wav", encoded(make_voice_like(amplitude=0.9))).json()
    assert loud["probabilities"]["angry"] > quiet["probabilities"]["angry"]


def test_predict_refuses_a_non_audio_extension_with_415(client: TestClient) -> None:
    response = upload(client, "notes.txt", b"hello")
    assert response.status_code == 415
    assert "unsupported file type '.txt'" in response.json()["detail"]


def test_predict_refuses_text_named_wav_with_415(client: TestClient) -> None:
    response = upload(client, "fake.wav", b"this is plain text, not a recording")
    assert response.status_code == 415
    assert "not audio in any accepted format" in response.json()["detail"]


def test_predict_refuses_content_of_another_format_than_its_name(client: TestClient) -> None:
    response = upload(client, "song.mp3", encoded(make_voice_like()))
    assert response.status_code == 415
    assert "named .mp3 but its content is WAV audio" in response.json()["detail"]


def test_predict_refuses_an_empty_file_with_422(client: TestClient) -> None:
    response = upload(client, "empty.wav", b"")
    assert response.status_code == 422
    assert "empty.wav: the file is empty" in response.json()["detail"]


def test_predict_refuses_a_truncated_wav_as_corrupt(client: TestClient) -> None:
    response = upload(client, "cut.wav", encoded(make_voice_like())[:40])
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("cut.wav: corrupt or unreadable audio file")
    assert "vietser-upload" not in detail


def test_predict_refuses_silence_with_422(client: TestClient) -> None:
    response = upload(client, "silence.wav", encoded(np.zeros(16_000, dtype=np.float32)))
    assert response.status_code == 422
    assert "silence.wav: audio is silent" in response.json()["detail"]


def test_predict_refuses_a_too_short_clip_with_422(client: TestClient) -> None:
    response = upload(client, "blip.wav", encoded(make_voice_like(duration_s=0.05)))
    assert response.status_code == 422
    assert "blip.wav: audio is too short" in response.json()["detail"]


def test_predict_refuses_audio_longer_than_the_limit_with_422(review_run: Path) -> None:
    app = create_app(review_run, predictor=measure_predictor, max_duration_s=1.0)
    client = TestClient(app, base_url=LOOPBACK_URL)
    response = upload(client, "long.flac", encoded(make_voice_like(duration_s=2.0), "FLAC"))
    assert response.status_code == 422
    assert "audio is 2.0 s long; the limit is 1 s" in response.json()["detail"]


def test_predict_refuses_a_file_over_the_size_limit_with_413(review_run: Path) -> None:
    app = create_app(review_run, predictor=measure_predictor, max_upload_bytes=20_000)
    client = TestClient(app, base_url=LOOPBACK_URL)
    response = upload(client, "big.wav", encoded(make_voice_like(duration_s=1.0)))
    assert response.status_code == 413
    assert "larger than the upload limit" in response.json()["detail"]


def test_a_body_announced_far_over_the_limit_is_refused_before_reading(review_run: Path) -> None:
    app = create_app(review_run, predictor=measure_predictor, max_upload_bytes=1_000)
    client = TestClient(app, base_url=LOOPBACK_URL)
    response = upload(client, "huge.wav", encoded(make_voice_like(duration_s=5.0)))
    assert response.status_code == 413
    assert "exceeds the upload limit of 1,000 bytes" in response.json()["detail"]


def test_health_reports_clips_and_queue(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "clips": 4, "queue": 3}


def test_queue_lists_delegated_and_low_confidence_clips_most_uncertain_first(client: TestClient) -> None:
    queue = client.get("/api/queue").json()
    assert [item["clip_id"] for item in queue["items"]] == ["clips/a.wav", "clips/b.wav", "clips/c.wav"]
    assert (queue["done"], queue["remaining"]) == (0, 3)


def test_queue_progress_counts_only_the_given_reviewers_reviews(client: TestClient) -> None:
    client.post("/api/reviews", json={"clip_id": "clips/a.wav", "label": "calm", "reviewer": "bob"})
    assert client.get("/api/queue", params={"reviewer": "bob"}).json()["done"] == 1
    assert client.get("/api/queue", params={"reviewer": "carol"}).json()["done"] == 0


def test_clip_detail_has_decision_transcript_audio_url_and_drafts(client: TestClient) -> None:
    detail = client.get("/api/clips/clips/a.wav").json()
    assert detail["decision"]["clip_id"] == "clips/a.wav"
    assert detail["transcript"] == "câu 0"
    assert detail["audio_url"] == "/audio/clips%2Fa.wav"
    assert detail["in_queue"] is True
    assert detail["proposal_prefill"]["panic"][0]["feature"] == "prosody.speech_rate"


def test_unknown_clip_is_404(client: TestClient) -> None:
    response = client.get("/api/clips/clips/nope.wav")
    assert response.status_code == 404
    assert "not in this run's decisions" in response.json()["detail"]


def test_review_of_a_known_clip_is_stored_with_the_model_label_as_previous(client: TestClient) -> None:
    response = client.post(
        "/api/reviews", json={"clip_id": "clips/b.wav", "label": "panic", "note": "shaky", "reviewer": "bob"}
    )
    assert response.status_code == 201
    assert response.json()["previous_label"] == "angry"
    assert [r["label"] for r in client.get("/api/reviews", params={"clip_id": "clips/b.wav"}).json()] == ["panic"]


def test_review_with_an_unknown_label_is_422(client: TestClient) -> None:
    response = client.post("/api/reviews", json={"clip_id": "clips/b.wav", "label": "sad", "reviewer": "bob"})
    assert response.status_code == 422


def test_review_with_a_reviewer_name_unfit_for_a_column_is_422(client: TestClient) -> None:
    response = client.post("/api/reviews", json={"clip_id": "clips/b.wav", "label": "calm", "reviewer": "a,b"})
    assert response.status_code == 422


def test_review_of_an_unknown_clip_is_404(client: TestClient) -> None:
    response = client.post("/api/reviews", json={"clip_id": "../x.wav", "label": "calm", "reviewer": "bob"})
    assert response.status_code == 404


def test_rules_come_from_the_runs_rulebook(client: TestClient) -> None:
    rulebook = client.get("/api/rules").json()
    assert (rulebook["name"], rulebook["version"]) == ("test", 1)
    assert [rule["id"] for rule in rulebook["rules"]] == ["angry-loud"]


def test_rule_proposal_without_conditions_is_drafted_from_the_clips_cues(client: TestClient) -> None:
    response = client.post("/api/rule-proposals", json={"clip_id": "clips/a.wav", "label": "angry", "reviewer": "bob"})
    assert response.status_code == 201
    rule = response.json()["rule"]
    assert Rule.model_validate(rule).supports == "angry"
    assert rule["when"] == [{"feature": "egemaps.loudness_sma3_amean", "op": ">=", "value": 2.0, "scale": "z"}]
    assert "loudness +2.3 SD" in rule["rationale"]["en"]
    assert client.get("/api/rule-proposals").json()[0]["status"] == "proposed"


def test_rule_proposal_keeps_the_reviewers_conditions(client: TestClient) -> None:
    condition = {"feature": "prosody.hnr_db", "op": "between", "low": -2.0, "high": -0.5, "scale": "z"}
    body = {"clip_id": "clips/a.wav", "label": "panic", "reviewer": "bob", "conditions": [condition]}
    assert client.post("/api/rule-proposals", json=body).json()["rule"]["when"] == [condition]


def test_rule_proposal_with_an_invalid_condition_is_422(client: TestClient) -> None:
    condition = {"feature": "z.prosody.hnr_db", "op": "<", "value": -0.5}
    body = {"clip_id": "clips/a.wav", "label": "panic", "reviewer": "bob", "conditions": [condition]}
    response = client.post("/api/rule-proposals", json=body)
    assert response.status_code == 422
    assert "write the raw column name" in response.text


def test_export_adds_one_annotator_column_per_reviewer_with_their_latest_label(client: TestClient) -> None:
    for reviewer, clip, label in [
        ("bob", "clips/a.wav", "calm"),
        ("bob", "clips/a.wav", "panic"),
        ("eve", "clips/b.wav", "calm"),
    ]:
        client.post("/api/reviews", json={"clip_id": clip, "label": label, "reviewer": reviewer})
    response = client.get("/api/export")
    assert response.headers["content-type"].startswith("text/csv")
    rows = {row["path"]: row for row in csv.DictReader(io.StringIO(response.text))}
    assert (rows["clips/a.wav"]["annotator_bob"], rows["clips/a.wav"]["annotator_eve"]) == ("panic", "")
    assert (rows["clips/b.wav"]["annotator_bob"], rows["clips/b.wav"]["annotator_eve"]) == ("", "calm")


def test_openapi_schema_documents_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/predict", "/api/queue", "/api/reviews", "/api/rules", "/api/rule-proposals", "/api/export"} <= set(
        paths
    )
    assert "/review" not in paths
