"""Throughput of the LLM reasoner's client path against the local scripted OpenAI-protocol server.

Usage::

    python -m benchmarks.llm [--requests 96] [--server-latency 0.05]

The server answers instantly or after ``--server-latency`` seconds, so the
numbers are the client's own overhead (prompt rendering, HTTP, JSON-schema
validation) and how it scales with concurrency 1 / 4 / 16 — not a model's
speed. The response cache is off for the live rows; the last row replays
every request from the SQLite cache.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import machine
from vietser.decision import ClipEvidence
from vietser.llm.client import LLMConfig
from vietser.llm.reasoner import LLMReasoner
from vietser.testing.scripted_server import ScriptedOpenAIServer
from vietser.reasoning import ReasoningRequest
from vietser.rules.rulebook import default_rulebook

CONCURRENCY = (1, 4, 16)


def requests(n: int, seed: int = 0) -> list[ReasoningRequest]:
    """Distinct requests (different probabilities and z values), so nothing is served twice."""
    rng = np.random.default_rng(seed)
    features = ["prosody.f0_mean_st", "prosody.intensity_mean_db", "prosody.speech_rate", "prosody.hnr_db"]
    out = []
    for i in range(n):
        p = rng.dirichlet([2, 2, 2])
        z = {f: float(v) for f, v in zip(features, rng.normal(0, 1.5, len(features)))}
        evidence = ClipEvidence(clip_id=f"clip-{i}", values=z, z=z, cues=[])
        out.append(ReasoningRequest(evidence=evidence, probabilities=dict(zip(("calm", "angry", "panic"), map(float, p)))))
    return out


def measure(n: int, server_latency: float) -> list[dict]:
    rows = []
    batch = requests(n)
    with tempfile.TemporaryDirectory() as scratch, ScriptedOpenAIServer(latency_s=server_latency) as server:
        for concurrency in CONCURRENCY:
            config = LLMConfig(base_url=server.base_url, model="scripted-model", concurrency=concurrency, use_cache=False)
            rows.append(_timed(f"concurrency {concurrency}", LLMReasoner(config, default_rulebook()), batch, server))
        cached = LLMConfig(base_url=server.base_url, model="scripted-model", concurrency=4, cache_path=Path(scratch) / "c.sqlite")
        LLMReasoner(cached, default_rulebook()).reason(batch)
        rows.append(_timed("replay from cache", LLMReasoner(cached, default_rulebook()), batch, server))
    return rows


def _timed(name: str, reasoner: LLMReasoner, batch: list[ReasoningRequest], server: ScriptedOpenAIServer) -> dict:
    before = server.request_count
    started = time.perf_counter()
    results = reasoner.reason(batch)
    seconds = time.perf_counter() - started
    assert not any(r.fallback for r in results), "the scripted server should answer every request"
    return {
        "mode": name,
        "requests": len(batch),
        "http_requests": server.request_count - before,
        "seconds": seconds,
        "requests_per_s": len(batch) / seconds,
        "max_in_flight": server.max_in_flight,
    }


def markdown(rows: list[dict], server_latency: float) -> str:
    lines = [
        f"server latency {server_latency * 1000:.0f} ms per reply\n",
        "| mode | requests | HTTP requests | seconds | requests/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['requests']} | {r['http_requests']} | {r['seconds']:.2f} | {r['requests_per_s']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=96)
    parser.add_argument("--server-latency", type=float, default=0.05)
    args = parser.parse_args()
    print(f"## LLM client path (scripted OpenAI-protocol server on localhost)\n\n{machine()}\n")
    print(markdown(measure(args.requests, args.server_latency), args.server_latency))


if __name__ == "__main__":
    main()
