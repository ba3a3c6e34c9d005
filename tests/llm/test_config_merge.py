"""LLM settings of a call merge into the run's [llm] section instead of replacing it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vietser.cli import app
from vietser.config import RunConfig, read_reasoning_config, read_run_config, save_config
from vietser.errors import ConfigError
from vietser.integrity import update_checksums
from vietser.llm.client import LLMConfig, LLMOverrides
from vietser.run.dir import CONFIG_FILE
from vietser.testing.scripted_server import ScriptedOpenAIServer


def _run_with_llm(tmp_path: Path, llm: LLMConfig | None) -> Path:
    save_config(RunConfig(llm=llm), tmp_path)
    return tmp_path


def test_a_timeout_option_changes_only_the_timeout_of_the_runs_llm(tmp_path: Path) -> None:
    stored = LLMConfig(base_url="http://gpu-box:8000/v1", model="qwen", max_tokens=256, concurrency=8)
    run_dir = _run_with_llm(tmp_path, stored)
    config = read_reasoning_config(run_dir, LLMOverrides(timeout_s=900))
    assert config.llm is not None
    assert (config.llm.base_url, config.llm.model, config.llm.max_tokens, config.llm.concurrency) == (
        "http://gpu-box:8000/v1",
        "qwen",
        256,
        8,
    )
    assert config.llm.timeout_s == 900


def test_a_new_endpoint_keeps_the_runs_other_settings(tmp_path: Path) -> None:
    run_dir = _run_with_llm(tmp_path, LLMConfig(base_url="http://a:8000/v1", model="qwen", max_tokens=300))
    config = read_reasoning_config(run_dir, LLMOverrides(base_url="http://b:8080/v1"))
    assert config.llm is not None
    assert (config.llm.base_url, config.llm.model, config.llm.max_tokens) == ("http://b:8080/v1", "qwen", 300)


def test_an_endpoint_for_a_run_without_llm_needs_a_model(tmp_path: Path) -> None:
    run_dir = _run_with_llm(tmp_path, None)
    with pytest.raises(ConfigError, match="--llm-model"):
        read_reasoning_config(run_dir, LLMOverrides(base_url="http://b:8080/v1"))
    config = read_reasoning_config(run_dir, LLMOverrides(base_url="http://b:8080/v1", model="m", concurrency=2))
    assert config.llm is not None and config.llm.concurrency == 2


def test_settings_without_an_endpoint_leave_the_rule_engine(tmp_path: Path) -> None:
    assert read_reasoning_config(_run_with_llm(tmp_path, None), LLMOverrides(timeout_s=60)).llm is None


def test_merged_settings_still_refuse_a_stored_template(tmp_path: Path) -> None:
    stored = LLMConfig(base_url="http://a:8000/v1", model="m", prompt_template=tmp_path / "evil.j2")
    with pytest.raises(ConfigError, match="--llm-prompt-template"):
        read_reasoning_config(_run_with_llm(tmp_path, stored), LLMOverrides(timeout_s=60))


def test_refine_merges_its_llm_option_into_the_runs_llm(trained_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run, run_dir)
    with ScriptedOpenAIServer() as server:
        stored = LLMConfig(base_url=server.base_url, model="stored-model", timeout_s=5, max_retries=0, use_cache=False)
        save_config(read_run_config(run_dir).model_copy(update={"llm": stored}), run_dir)
        update_checksums(run_dir, [CONFIG_FILE])
        refined = CliRunner().invoke(app, ["refine", str(run_dir), "--rounds", "1", "--llm-model", "given-model"])
        requests = server.requests

    assert refined.exit_code == 0, refined.output
    # The run's endpoint with the model given: the proposer and the evaluation both asked it.
    assert requests and {body["model"] for body in requests} == {"given-model"}
    assert json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))["reasoner"] == "llm"
