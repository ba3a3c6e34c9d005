"""A tiny run directory with real audio and Decisions, a stereo call with its segment decisions, a measuring
predictor, and a live server."""

from __future__ import annotations

import csv
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
import soundfile as sf
import uvicorn
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import make_voice_like
from vietser.calls.call import CallResult
from vietser.calls.timeline import CallSummary, summarize_speaker
from vietser.cli.calls_command import call_lines
from vietser.data.audio import load_audio
from vietser.decision import Cue, Decision, Route
from vietser.labels import CLASSES
from vietser.review import create_app

TOKEN = "test-token-0123456789abcdef"
# The app answers only its own host names; TestClient's default "testserver" is not one.
LOOPBACK_URL = "http://127.0.0.1:8765"


def cue(feature: str, name: str, z: float, supports: str) -> Cue:
    """A cue as the evidence stage writes it (text in English and Vietnamese)."""
    direction = "high" if z >= 0 else "low"
    return Cue(
        feature=feature,
        name=name,
        value=round(5 + z, 2),
        unit="",
        z=z,
        direction=direction,
        supports=supports,
        text_en=f"{name} {z:+.1f} SD vs this speaker's baseline, typical of {supports}",
        text_vi=f"{name} {z:+.1f} độ lệch chuẩn so với mức nền của người nói, đặc trưng cho {supports}",
    )


# clip, f0, route, probabilities (calm, angry, panic), reasoner label, rules fired
CLIPS = [
    ("clips/a.wav", 180.0, Route.DELEGATED, (0.40, 0.35, 0.25), "angry", ["angry-loud"]),
    ("clips/b.wav", 220.0, Route.DELEGATED, (0.30, 0.50, 0.20), "angry", []),
    ("clips/c.wav", 260.0, Route.CONFIDENT, (0.55, 0.30, 0.15), "calm", []),
    ("clips/d.wav", 300.0, Route.CONFIDENT, (0.90, 0.05, 0.05), "calm", []),
]


def decision_for(
    run: Path, clip_id: str, route: Route, probs: tuple[float, ...], label: str, rules: list[str]
) -> Decision:
    probabilities = dict(zip(CLASSES, probs))
    acoustic = max(probabilities, key=probabilities.__getitem__)
    return Decision(
        clip_id=clip_id,
        path=str(run / clip_id),
        speaker="spk1",
        split="dev",
        true_label="angry",
        label=label,
        probabilities=probabilities,
        acoustic_label=acoustic,
        confidence=max(probs),
        route=route,
        reasoner="rules" if route == Route.DELEGATED else "acoustic",
        evidence=[
            cue("egemaps.loudness_sma3_amean", "loudness", 2.3, "angry"),
            cue("prosody.speech_rate", "speaking rate", 1.7, "panic"),
            cue("prosody.f0_range_st", "pitch range", -1.2, "calm"),
        ],
        rationale="Loud and fast speech against a calm baseline." if route == Route.DELEGATED else "",
        rules_applied=rules,
    )


@pytest.fixture
def review_run(tmp_path: Path) -> Path:
    """A run directory: four voice-like clips, their decisions, manifest and rulebook."""
    run = tmp_path / "run"
    (run / "clips").mkdir(parents=True)
    rows = []
    with (run / "decisions.jsonl").open("w", encoding="utf-8") as out:
        for index, (clip_id, f0, route, probs, label, rules) in enumerate(CLIPS):
            sf.write(run / clip_id, make_voice_like(f0=f0, duration_s=0.5, seed=index), 16_000)
            out.write(decision_for(run, clip_id, route, probs, label, rules).model_dump_json() + "\n")
            rows.append(
                {"path": clip_id, "label": "angry", "speaker": "spk1", "split": "dev", "transcript": f"câu {index}"}
            )
    with (run / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    rulebook = {
        "name": "test",
        "version": 1,
        "rules": [
            {
                "id": "angry-loud",
                "when": [{"feature": "egemaps.loudness_sma3_amean", "op": ">=", "value": 1.5}],
                "supports": "angry",
                "weight": 1.0,
                "rationale": {"en": "Loud speech signals anger.", "vi": "Nói to là dấu hiệu tức giận."},
                "provenance": "guideline",
            }
        ],
    }
    (run / "rulebook.yaml").write_text(yaml.safe_dump(rulebook, allow_unicode=True), encoding="utf-8")
    return run


def measure_predictor(path: Path) -> Decision:
    """Classify by two real measurements of the loaded signal: RMS level and zero-crossing rate."""
    audio = load_audio(path)
    rms = float(np.sqrt(np.mean(audio.samples**2)))
    zcr = float(np.mean(np.abs(np.diff(np.sign(audio.samples)))) / 2)
    logits = np.array([1.0, 10 * rms, 20 * zcr])
    probs = np.exp(logits) / np.exp(logits).sum()
    label = CLASSES[int(np.argmax(probs))]
    return Decision(
        clip_id=path.name,
        path=str(path),
        label=label,
        probabilities={name: float(p) for name, p in zip(CLASSES, probs)},
        acoustic_label=label,
        confidence=float(probs.max()),
        route=Route.CONFIDENT,
        reasoner="acoustic",
    )


RATE = 8_000
# channel, start, end, label, route, out of domain
SEGMENTS = [
    ("agent", 0.5, 1.5, "calm", Route.CONFIDENT, False),
    ("caller", 2.0, 3.0, "panic", Route.DELEGATED, False),
    ("caller", 3.5, 4.5, "angry", Route.DELEGATED, True),
]


def _segment(
    call_id: str, path: Path, channel: str, start: float, end: float, label: str, route: Route, ood: bool
) -> Decision:
    probabilities = {name: (0.6 if name == label else 0.2) for name in CLASSES}
    return Decision(
        clip_id=f"{call_id}/{channel}/{start:09.3f}",
        path=str(path),
        speaker=f"{call_id}/{channel}",
        label=label,
        probabilities=probabilities,
        acoustic_label=label,
        confidence=0.6,
        route=route,
        reasoner="rules" if route == Route.DELEGATED else "acoustic",
        out_of_domain=ood,
        call_id=call_id,
        channel=channel,
        start_s=start,
        end_s=end,
    )


def write_call(folder: Path, call_id: str = "call-1") -> tuple[Path, Path]:
    """A 5 s stereo 8 kHz call (agent speaks on the left at 0.5 s, the caller on the right at 2 s and 3.5 s)
    and its predict --segments output; returns (audio, JSON Lines)."""
    audio = folder / f"{call_id}.wav"
    stereo = np.zeros((5 * RATE, 2), dtype=np.float32)
    for index, (_, start, end, *_rest) in enumerate(SEGMENTS):
        voice = make_voice_like(f0=150 + 60 * index, duration_s=end - start, sample_rate=RATE, seed=index)
        stereo[int(start * RATE) : int(start * RATE) + len(voice), 0 if index == 0 else 1] = voice
    sf.write(audio, stereo, RATE, subtype="PCM_16")
    decisions = [_segment(call_id, audio, *segment) for segment in SEGMENTS]
    speakers = [
        summarize_speaker(channel, [d for d in decisions if d.channel == channel], False, 1.0, False)
        for channel in ("agent", "caller")
    ]
    summary = CallSummary(call_id=call_id, path=str(audio), duration_s=5.0, smoothing_s=0.0, speakers=speakers, skipped=0)
    lines = folder / f"{call_id}.jsonl"
    lines.write_text("".join(f"{line}\n" for line in call_lines(CallResult(decisions, summary, []))), encoding="utf-8")
    return audio, lines


@pytest.fixture
def client(review_run: Path) -> Iterator[TestClient]:
    with TestClient(create_app(review_run, predictor=measure_predictor), base_url=LOOPBACK_URL) as test_client:
        yield test_client


LiveServer = Callable[[FastAPI], str]


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    """Start apps with uvicorn on 127.0.0.1 (free port) in background threads; returns their base URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: FastAPI) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)
