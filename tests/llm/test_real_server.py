"""The LLM reasoner against a real llama-server with a real model (SmolLM2-135M-Instruct on the CPU).

Slow: a live call takes seconds to a minute on a loaded two-core machine, so the module asks the model
twice and every test reads those answers, their call log or the server's counters; the sampled evaluation
asks eight clips more. Greedy decoding (temperature 0, a seed) on one slot, so the answers are the same on
every run, and every one of them must be usable: a fallback here is a defect, not bad luck.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from vietser.cli import app
from vietser.llm.check import probe_requests
from vietser.llm.client import LLMConfig
from vietser.llm.local_server import LlamaServer
from vietser.llm.reasoner import LLMReasoner
from vietser.llm.schema import MAX_RATIONALE_CHARS, MAX_RULES_USED, LLMAnswer
from vietser.reasoning import ReasoningResult
from vietser.rules.rulebook import Condition, Rationale, Rule, Rulebook, dump_rulebook

pytestmark = pytest.mark.slow

RULEBOOK = Rulebook(
    name="real-server",
    version=1,
    rules=[
        Rule(
            id=rule_id,
            when=[Condition(feature=feature, op=">", value=1.0)],
            supports=supports,
            weight=1.0,
            priority=0,
            rationale=Rationale(en=f"{feature} high suggests {supports}", vi=supports),
            provenance="guideline",
        )
        for rule_id, feature, supports in (
            ("panic-fast", "prosody.speech_rate", "panic"),
            ("angry-loud", "prosody.intensity_mean_db", "angry"),
        )
    ],
)
RULE_IDS = {"panic-fast", "angry-loud"}


def served_tokens(server: LlamaServer) -> float:
    """Prompt plus generated tokens the server has processed, from its Prometheus counters."""
    text = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10).text
    counters = re.findall(r"^llamacpp:(?:prompt_tokens_total|tokens_predicted_total) (\S+)$", text, re.MULTILINE)
    return sum(float(value) for value in counters)


@pytest.fixture(scope="module")
def call_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("real-llm") / "llm-calls.sqlite3"


@pytest.fixture(scope="module")
def config(llama_server: LlamaServer, call_log: Path) -> LLMConfig:
    return LLMConfig(base_url=llama_server.base_url, model=llama_server.model, cache_path=call_log, seed=0)


@pytest.fixture(scope="module")
def answered(config: LLMConfig) -> tuple[list[ReasoningResult], dict]:
    """Two clips asked live, and the usage after them."""
    with LLMReasoner(config, RULEBOOK) as reasoner:
        results = reasoner.reason(probe_requests(2))
        return results, reasoner.usage.model_dump()


def test_a_real_model_answers_schema_valid_json_for_every_clip(answered: tuple[list[ReasoningResult], dict]) -> None:
    results, usage = answered
    assert [r.fallback_reason for r in results] == [None, None]
    assert {r.reasoner for r in results} == {"llm"}
    for result in results:
        LLMAnswer.model_validate(result.model_dump(include=set(LLMAnswer.model_fields)))
    assert usage["structured_output"] == "json_schema"


def test_cited_rule_ids_come_only_from_the_rulebook(answered: tuple[list[ReasoningResult], dict]) -> None:
    results, usage = answered
    for result in results:
        assert set(result.rules_used) <= RULE_IDS
        assert len(result.rules_used) <= MAX_RULES_USED
    assert usage["dropped_rule_ids"] == 0


def test_usage_counts_the_real_tokens_and_latency(answered: tuple[list[ReasoningResult], dict]) -> None:
    results, usage = answered
    assert (usage["requests"], usage["calls"], usage["cache_hits"], usage["fallbacks"]) == (2, 2, 0, 0)
    assert usage["prompt_tokens"] == sum(r.prompt_tokens for r in results) > 2 * 500
    assert usage["completion_tokens"] == sum(r.completion_tokens for r in results) > 0
    assert 0 < usage["p50_latency_s"] <= usage["p95_latency_s"]
    assert usage["short_prompts"] == 0


def test_a_rerun_replays_the_log_without_a_request(
    answered: tuple[list[ReasoningResult], dict], config: LLMConfig, llama_server: LlamaServer
) -> None:
    first, _ = answered
    before = served_tokens(llama_server)
    with LLMReasoner(config, RULEBOOK) as reasoner:
        again = reasoner.reason(probe_requests(2))
        usage = reasoner.usage
    assert [r.label for r in again] == [r.label for r in first]
    assert all(r.cached for r in again)
    assert (usage.calls, usage.cache_hits) == (0, 2)
    assert served_tokens(llama_server) == before


def test_the_call_log_keys_the_served_gguf(answered: tuple[list[ReasoningResult], dict], config: LLMConfig) -> None:
    with LLMReasoner(config, RULEBOOK) as reasoner:
        assert reasoner.cache is not None
        records = reasoner.cache.records()
    assert records and all("SmolLM2-135M-Instruct" in r.request["params"]["served_model"] for r in records)


def test_llm_check_probes_the_real_server(llama_server: LlamaServer, tmp_path: Path) -> None:
    rulebook = tmp_path / "rulebook.yaml"
    rulebook.write_text(dump_rulebook(RULEBOOK), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["llm", "check", "--llm-base-url", llama_server.base_url, "--llm-model", "smollm2", "--requests", "1",
         "--rulebook", str(rulebook)],
    )
    assert result.exit_code == 0, result.output
    assert "json_schema" in result.output and "1 of 1" in result.output
    assert "8192" in result.output  # the context length from /props
    assert "answer token limit" in result.output
    assert "problem" not in result.output  # it holds the prompt and the longest valid answer


def test_a_sampled_llm_baseline_asks_the_sample_and_the_delegated_clips(
    llama_server: LlamaServer, small_demo_features, tmp_path: Path  # noqa: ANN001 - a DataFrame
) -> None:
    from tests.conftest import small_run_config
    from vietser.routing import DelegationBudget
    from vietser.run.evaluate import evaluate_run
    from vietser.run.train import train_run

    run_dir = tmp_path / "run"
    train_run(small_demo_features, small_run_config(routing=DelegationBudget(max_delegation=0.25)), run_dir)
    config = LLMConfig(base_url=llama_server.base_url, model=llama_server.model, use_cache=False, seed=0)
    result = evaluate_run(run_dir, llm=config.model_copy(update={"baseline_clips": 4}))

    usage = result.summary["llm_usage"]
    delegated = [d for d in result.decisions if d.route.value == "delegated"]
    assert usage["calls"] == len(delegated) + 4 + 4, usage
    assert usage["requests"] == usage["calls"]
    assert (usage["fallbacks"], usage["failures"]) == (0, {}), usage  # every answer schema-valid
    assert all(d.reasoner == "llm" and not d.fallback for d in delegated)
    assert any(name.startswith("LLM only (sampled, n=4 of ") for name in result.summary["test"])


def widest_answer(rationale_json: str) -> str:
    """A valid answer with every gap as wide as llama.cpp's JSON grammar allows ("\\n"{1,2} [ \\t]{0,20})."""
    gap = "\n\n" + " \t" * 10
    rules = f"{gap},{gap}".join(['"R2"'] * MAX_RULES_USED)  # RULEBOOK's longest short id
    pairs = [
        f'"label"{gap}:{gap}"angry"',
        f'"confidence"{gap}:{gap}0.1234567890123456e-1234567890123456',
        f'"rules_used"{gap}:{gap}[{gap}{rules}{gap}]',
        f'"rationale"{gap}:{gap}{rationale_json}',
    ]
    return "{" + gap + f"{gap},{gap}".join(pairs) + gap + "}"


N = MAX_RATIONALE_CHARS
RATIONALES = {  # the longest rationale, as JSON text
    "ASCII": json.dumps("a" * N),
    "the Vietnamese reply once cut at 512 tokens": json.dumps(("điểm " * N)[:N], ensure_ascii=False),
    "3-byte UTF-8": json.dumps("ọ" * N, ensure_ascii=False),
    "4-byte UTF-8": json.dumps("😀" * N, ensure_ascii=False),
    "\\u escapes": json.dumps("ọ" * N),
}


def test_the_token_limit_holds_the_longest_valid_answers_as_the_real_tokenizer_counts_them(
    llama_server: LlamaServer, config: LLMConfig
) -> None:
    with LLMReasoner(config, RULEBOOK) as reasoner:
        limit = reasoner.max_tokens
    for kind, rationale in RATIONALES.items():
        answer = widest_answer(rationale)
        assert LLMAnswer.model_validate_json(answer).rationale == json.loads(rationale)
        reply = httpx.post(f"http://127.0.0.1:{llama_server.port}/tokenize", json={"content": answer}, timeout=30)
        tokens = len(reply.json()["tokens"])
        assert tokens <= len(answer.encode("utf-8")) <= limit, (kind, tokens, limit)
