"""The LLM reasoner's client path against the scripted server, and a real model on a local llama-server.

Usage::

    python -m benchmarks.llm [--requests 96] [--server-latency 0.05]
    python -m benchmarks.llm --gguf MODEL.gguf [--clips 4] [--run DEMO_RUN]

With ``--gguf`` the real part starts llama-server with that model (one slot)
and sends the reasoner's real prompt for ``--clips`` synthetic clips, one at
a time: per-clip latency and tokens, the share of schema-valid answers, and
the prefix-cache effect (the first call processes the whole prompt; later
ones reuse the shared system prompt and rulebook, so the server processes
only the clip's part: prompt tokens processed per call from its /metrics).
With ``--run`` it then evaluates that run directory with the LLM (acoustic
only / LLM only / pipeline, the paper's table) on a copy, call log included.

The server answers instantly or after ``--server-latency`` seconds, so the
numbers are the client's own overhead (prompt rendering, HTTP, JSON-schema
validation) and how it scales with concurrency 1 / 4 / 16 — not a model's
speed. The response cache is off for the live rows; the last row replays
every request from the SQLite cache.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import machine
from vietser.decision import ClipEvidence
from vietser.llm.check import probe_requests
from vietser.llm.client import LLMConfig, LLMOverrides
from vietser.llm.local_server import LlamaServer
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


def _processed_prompt_tokens(server: LlamaServer) -> float:
    import httpx

    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).text
    found = re.search(r"^llamacpp:prompt_tokens_total (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else float("nan")


def real_clips(server: LlamaServer, clips: int) -> list[dict]:
    """One row per synthetic clip sent to the real model, in order (uncached)."""
    config = LLMConfig(base_url=server.base_url, model=server.model, use_cache=False)
    rows = []
    with LLMReasoner(config, default_rulebook()) as reasoner:
        for index, request in enumerate(probe_requests(clips)):
            before = _processed_prompt_tokens(server)
            [result] = reasoner.reason([request])
            rows.append(
                {
                    "clip": index + 1,
                    "valid": not result.fallback,
                    "reason": result.fallback_reason or "",
                    "latency_s": result.latency_s,
                    "prompt_tokens": result.prompt_tokens,
                    "processed_prompt_tokens": _processed_prompt_tokens(server) - before,
                    "completion_tokens": result.completion_tokens,
                    "label": result.label,
                }
            )
    return rows


def real_markdown(rows: list[dict]) -> str:
    lines = [
        "| clip | valid | latency s | prompt tokens | processed (prefix cache) | completion tokens | label |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        valid = "yes" if r["valid"] else f"no ({r['reason']})"
        lines.append(
            f"| {r['clip']} | {valid} | {r['latency_s']:.1f} | {r['prompt_tokens']} | {r['processed_prompt_tokens']:.0f} "
            f"| {r['completion_tokens']} | {r['label']} |"
        )
    share = sum(r["valid"] for r in rows) / len(rows)
    lines.append(f"\nschema-valid answers: {share:.0%} of {len(rows)}")
    return "\n".join(lines)


def systems_markdown(summary: dict) -> str:
    lines = ["| system | accuracy | macro-F1 | delegated |", "|---|---:|---:|---:|"]
    for name, scores in summary["test"].items():
        if name != "pipeline_vs_acoustic":
            lines.append(f"| {name} | {scores['accuracy']:.3f} | {scores['macro_f1']:.3f} | {scores['delegation_rate']:.0%} |")
    usage = summary["llm_usage"]
    lines.append(
        f"\nLLM: {usage['requests']} clips, {usage['calls']} calls, {usage['fallbacks']} fallbacks {usage['failures']}, "
        f"p50 {usage['p50_latency_s']:.1f} s, p95 {usage['p95_latency_s']:.1f} s, "
        f"{usage['prompt_tokens'] / max(usage['calls'], 1):.0f} prompt + "
        f"{usage['completion_tokens'] / max(usage['calls'], 1):.0f} completion tokens per call"
    )
    return "\n".join(lines)


def evaluate_with(server: LlamaServer, run_dir: Path) -> dict:
    from vietser.run.evaluate import evaluate_run

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(shutil.copytree(run_dir, Path(scratch) / "run"))
        overrides = LLMOverrides(base_url=server.base_url, model=server.model)
        return evaluate_run(copy, llm=overrides).summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=96)
    parser.add_argument("--server-latency", type=float, default=0.05)
    parser.add_argument("--gguf", type=Path, help="also run a real model on a local llama-server")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--run", type=Path, help="with --gguf: evaluate this run directory with the real model")
    args = parser.parse_args()
    print(f"## LLM client path (scripted OpenAI-protocol server on localhost)\n\n{machine()}\n")
    print(markdown(measure(args.requests, args.server_latency), args.server_latency))
    if args.gguf is None:
        return
    with LlamaServer(args.gguf, extra_args=("--metrics",)) as server:
        print(f"\n## A real model: {args.gguf.name} on llama-server ({server.threads} threads, one slot)\n")
        print(real_markdown(real_clips(server, args.clips)))
        if args.run is not None:
            print(f"\n### {args.run.name} evaluated with it\n")
            print(systems_markdown(evaluate_with(server, args.run)))


if __name__ == "__main__":
    main()
