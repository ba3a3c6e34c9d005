"""The HTTP API with the predictor it builds itself from a trained run directory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from tests.review.conftest import LOOPBACK_URL
from vietser.review import create_app


def test_predict_endpoint_uses_the_runs_own_model(trained_run: Path, small_demo: Path) -> None:
    manifest = pd.read_csv(small_demo)
    clip = small_demo.parent / manifest.loc[manifest["split"] == "test", "path"].iloc[0]
    client = TestClient(create_app(trained_run), base_url=LOOPBACK_URL)

    response = client.post("/api/predict", files={"file": ("call.wav", clip.read_bytes(), "audio/wav")})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["label"] in ("calm", "angry", "panic")
    assert body["reasoner"] in ("acoustic", "rules")
    assert body["evidence"] and body["evidence"][0]["text_vi"]


def test_corrupt_upload_is_refused_by_the_real_predictor(trained_run: Path) -> None:
    client = TestClient(create_app(trained_run), base_url=LOOPBACK_URL)

    response = client.post("/api/predict", files={"file": ("call.wav", b"RIFF" + b"\x00" * 64, "audio/wav")})

    assert 400 <= response.status_code < 500
    assert "call.wav" in response.text or "audio" in response.text.lower()
