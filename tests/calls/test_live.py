"""Live calls: segments decided as they close, alerts, the WebSocket through FastAPI, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.calls.conftest import BuiltCall
from vietser.calls.live import Alert, LiveCall
from vietser.calls.segment import SegmentationConfig
from vietser.cli import app as cli
from vietser.decision import Decision
from vietser.run.predict import load_predictor
from vietser.serve import create_app

TESTS = ("testserver",)  # the Host of FastAPI's TestClient


@pytest.fixture(scope="module")
def predictor(trained_run: Path):  # noqa: ANN201 - Predictor
    return load_predictor(trained_run)


def _mono16k(call: BuiltCall) -> np.ndarray:
    samples, rate = sf.read(call.path, dtype="float32", always_2d=True)
    assert rate == 16_000
    return samples[:, 0]


def test_a_live_call_emits_each_segment_when_it_closes_and_the_same_segments_as_the_file(
    predictor,
    two_speaker_call: BuiltCall,  # noqa: ANN001
) -> None:
    samples = _mono16k(two_speaker_call)
    closed_at: list[tuple[float, Decision]] = []
    with LiveCall(predictor, "live", alert_after_s=1e9) as live:
        for offset in range(0, len(samples), 1600):
            for event in live.feed(samples[offset : offset + 1600]):
                closed_at.append(((offset + 1600) / 16_000, event))
        closed_at += [(len(samples) / 16_000, event) for event in live.finish()]

    assert [round(d.start_s, 2) for _, d in closed_at] == [round(s, 2) for s, _ in _spans(predictor, two_speaker_call)]
    wait_s = SegmentationConfig().merge_gap_s + 0.1  # the pause that closes a segment, plus one 100 ms chunk
    assert all(0 < heard - d.end_s <= wait_s for heard, d in closed_at[:-1])  # decided within the pause after it


def _spans(predictor, call: BuiltCall) -> list[tuple[float, float]]:  # noqa: ANN001
    from vietser.calls.call import CallConfig, decide_call

    result = decide_call(predictor, call.path, CallConfig(channel_names=("a", "b")))
    return [(d.start_s, d.end_s) for d in result.decisions if d.channel == "a"]


def test_an_alert_is_raised_once_when_one_label_lasts_past_the_threshold(
    predictor, two_speaker_call: BuiltCall
) -> None:  # noqa: ANN001
    samples = _mono16k(two_speaker_call)
    with LiveCall(predictor, "live", alert_after_s=0.5) as live:
        events = live.feed(samples) + live.finish()

    decisions = [e for e in events if isinstance(e, Decision)]
    alerts = [e for e in events if isinstance(e, Alert)]
    alarming = [d for d in decisions if d.label in ("angry", "panic")]
    assert alarming, "the demo clips hold angry or panic speech"
    assert alerts and all(a.until_s - a.since_s >= 0.5 for a in alerts)
    assert len(alerts) <= len(alarming)


def test_the_websocket_takes_8k_stereo_pcm_and_answers_segments_then_end(predictor, stereo_call: BuiltCall) -> None:  # noqa: ANN001
    samples, rate = sf.read(stereo_call.path, dtype="int16", always_2d=True)
    client = TestClient(create_app(predictor, "test-run", TESTS))
    events = []
    with client.websocket_connect(
        "/calls/c1?sample_rate=8000&channels=2&channel_names=caller,agent&alert_after_s=3"
    ) as ws:
        for offset in range(0, len(samples), 800):
            ws.send_bytes(samples[offset : offset + 800].tobytes())
        ws.send_text("end")
        while (event := ws.receive_json())["type"] != "end":
            events.append(event)
    segments = [e["decision"] for e in events if e["type"] == "segment"]

    assert len(segments) >= len(stereo_call.spans) and event["segments"] == len(segments)
    assert {s["channel"] for s in segments} == {"caller"} and all(s["call_id"] == "c1" for s in segments)
    assert all(e["channel"] == "caller" for e in events if e["type"] == "alert")


def test_the_websocket_refuses_an_oversized_message(predictor) -> None:  # noqa: ANN001
    client = TestClient(create_app(predictor, allowed_hosts=TESTS))
    with client.websocket_connect("/calls/c2") as ws:
        ws.send_bytes(bytes(16_000 * 2 * 3))
        message = ws.receive()

    assert message["type"] == "websocket.close" and message["code"] == 1008


def test_http_predict_health_and_openapi(predictor, stereo_call: BuiltCall) -> None:  # noqa: ANN001
    client = TestClient(create_app(predictor, "test-run", TESTS))

    assert client.get("/health").json() == {"status": "ok", "run": "test-run"}
    assert "/calls/{call_id}" not in client.get("/openapi.json").json()["paths"]  # WebSockets are not in OpenAPI
    assert "/predict" in client.get("/openapi.json").json()["paths"]
    with stereo_call.path.open("rb") as handle:
        answer = client.post(
            "/predict?segments=true&channel_names=caller,agent", files={"file": ("call.wav", handle, "audio/wav")}
        )
    assert answer.status_code == 200
    assert answer.json()["summary"]["speakers"][1]["silent"] is True
    bad = client.post("/predict", files={"file": ("x.wav", b"not audio", "audio/wav")})
    assert bad.status_code == 422


def test_a_request_for_another_host_name_is_refused(predictor) -> None:  # noqa: ANN001
    client = TestClient(create_app(predictor, "test-run"), base_url="http://attacker.example")

    assert client.get("/health").status_code == 400


def test_cli_predict_segments_writes_decisions_then_one_summary(
    trained_run: Path, stereo_call: BuiltCall, tmp_path: Path
) -> None:
    out = tmp_path / "call.jsonl"

    result = CliRunner().invoke(
        cli,
        [
            "predict",
            str(stereo_call.path),
            "--run",
            str(trained_run),
            "--segments",
            "--channel-names",
            "caller,agent",
            "-o",
            str(out),
            "--timeline",
            str(tmp_path / "plots"),
        ],
    )

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[-1]["type"] == "call_summary" and all("start_s" in line for line in lines[:-1])
    assert (tmp_path / "plots" / "call-stereo.png").stat().st_size > 1000


def test_a_client_streams_a_call_through_a_real_uvicorn_server_on_loopback(
    predictor, two_speaker_call: BuiltCall
) -> None:  # noqa: ANN001
    import socket
    import threading
    import time

    import uvicorn
    from websockets.sync.client import connect

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(predictor), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    samples, rate = sf.read(two_speaker_call.path, dtype="int16", always_2d=True)
    try:
        with connect(f"ws://127.0.0.1:{port}/calls/real?channels=2&channel_names=agent,caller") as ws:
            for offset in range(0, len(samples), rate // 10):
                ws.send(samples[offset : offset + rate // 10].tobytes())
            ws.send("end")
            events = []
            while (event := json.loads(ws.recv(timeout=120)))["type"] != "end":
                events.append(event)
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    assert {e["decision"]["channel"] for e in events if e["type"] == "segment"} == {"agent", "caller"}
    assert event["segments"] == sum(e["type"] == "segment" for e in events)
