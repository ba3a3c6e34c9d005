"""`vietser serve`: the HTTP API over a trained run, and live calls over a WebSocket.

Endpoints (OpenAPI at ``/docs`` and ``/openapi.json``):

- ``GET /health``: the run served;
- ``POST /predict`` (multipart ``file``): one Decision for a clip, or with
  ``?segments=true`` the call's segment Decisions and its summary;
- ``WS /calls/{call_id}``: binary messages of 16-bit little-endian PCM
  (``?sample_rate=8000&channels=2`` for an interleaved stereo call at
  8 kHz); the server answers ``{"type": "segment", "decision": {...}}`` as
  each segment closes and ``{"type": "alert", ...}`` when angry or panic has
  lasted ``alert_after_s``; send the text ``end`` to close the call, answered
  by ``{"type": "end", "segments": n}``.

A stream holds its open segments and a window of recent ones (bounded, see
:mod:`vietser.calls.live`); a message longer than ``MAX_CHUNK_S`` of audio
is refused, and so is a request addressed to a host name other than
loopback and the ``--allowed-host`` names. Decisions run one at a time on a worker thread, so the event loop
keeps taking audio.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import soxr
from fastapi import (
    FastAPI,
    HTTPException,
    Query,
    UploadFile,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

from vietser.calls.call import CallConfig, decide_call
from vietser.calls.live import Alert, LiveCall
from vietser.data.audio import SAMPLE_RATE
from vietser.decision import Decision
from vietser.errors import VietserError
from vietser.run.predict import Predictor

LOOPBACK_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1", "[::1]")
MAX_CHUNK_S = 2.0
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
POLICY_VIOLATION = 1008


def create_app(predictor: Predictor, run_name: str = "", allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS) -> FastAPI:
    """The API over one loaded predictor; requests whose ``Host`` is not in ``allowed_hosts`` get 400
    (a web page cannot reach it by pointing its own name at 127.0.0.1)."""
    app = FastAPI(title="vietser", summary="Speech emotion (calm / angry / panic) of clips, calls and live audio")
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    lock = threading.Lock()

    def locked(function: Any, *args: Any) -> Any:  # noqa: ANN401 - any decision call
        with lock:
            return function(*args)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "run": run_name}

    @app.post("/predict")
    async def predict(file: UploadFile, segments: bool = False, channel_names: str | None = None) -> dict:
        """Decide an uploaded recording: a clip, or a whole call with ``segments=true``."""
        data = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise HTTPException(
                413, f"upload over {MAX_UPLOAD_BYTES // 2**20} MiB; cut the recording or use the WebSocket"
            )
        suffix = Path(file.filename or "upload.wav").suffix or ".wav"
        with tempfile.TemporaryDirectory(prefix="vietser-serve-") as work:
            path = Path(work, f"{Path(file.filename or 'upload').stem}{suffix}")
            path.write_bytes(data)
            try:
                if not segments:
                    return {"decision": (await run_in_threadpool(locked, predictor, path)).model_dump(mode="json")}
                names = tuple(channel_names.split(",")) if channel_names else None
                result = await run_in_threadpool(locked, decide_call, predictor, path, CallConfig(channel_names=names))
            except VietserError as exc:
                raise HTTPException(422, str(exc)) from exc
        return {
            "decisions": [d.model_dump(mode="json") for d in result.decisions],
            "summary": result.summary.model_dump(mode="json"),
        }

    @app.websocket("/calls/{call_id}")
    async def live_call(
        websocket: WebSocket,
        call_id: str,
        sample_rate: int = Query(SAMPLE_RATE, ge=8000, le=48000),
        channels: int = Query(1, ge=1, le=2),
        alert_after_s: float = Query(10.0, gt=0),
        channel_names: str | None = None,
    ) -> None:
        await websocket.accept()
        names = tuple(channel_names.split(",")) if channel_names else None
        try:
            config = CallConfig(channel_names=names)
            live = LiveCall(predictor, call_id, channels, config, alert_after_s)
        except (VietserError, ValueError) as exc:
            await websocket.close(POLICY_VIOLATION, str(exc)[:120])
            return
        resampler = (
            None
            if sample_rate == SAMPLE_RATE
            else soxr.ResampleStream(sample_rate, SAMPLE_RATE, channels, dtype="float32")
        )
        max_bytes = int(MAX_CHUNK_S * sample_rate) * channels * 2
        segments = 0
        try:
            with live:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        return
                    if message.get("text") == "end":
                        tail = (
                            resampler.resample_chunk(np.zeros((0, channels), np.float32), last=True)
                            if resampler
                            else None
                        )
                        events = await run_in_threadpool(locked, _finish, live, tail)
                        segments += await _send(websocket, events)
                        await websocket.send_json({"type": "end", "segments": segments})
                        await websocket.close()
                        return
                    chunk = message.get("bytes") or b""
                    if len(chunk) > max_bytes or len(chunk) % (2 * channels):
                        await websocket.close(
                            POLICY_VIOLATION, f"send whole 16-bit frames, at most {MAX_CHUNK_S:g} s a message"
                        )
                        return
                    samples = np.frombuffer(chunk, dtype="<i2").astype(np.float32).reshape(-1, channels) / 32768.0
                    if resampler is not None:
                        samples = resampler.resample_chunk(samples)
                    segments += await _send(websocket, await run_in_threadpool(locked, live.feed, samples))
        except WebSocketDisconnect:
            return

    return app


def _finish(live: LiveCall, tail: np.ndarray | None) -> list[Decision | Alert]:
    events = live.feed(tail) if tail is not None and len(tail) else []
    return events + live.finish()


async def _send(websocket: WebSocket, events: list[Decision | Alert]) -> int:
    """Send each event; returns how many were segment decisions."""
    for event in events:
        if isinstance(event, Decision):
            await websocket.send_json({"type": "segment", "decision": event.model_dump(mode="json")})
        else:
            await websocket.send_json(event.model_dump(mode="json"))
    return sum(isinstance(event, Decision) for event in events)
