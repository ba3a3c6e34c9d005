"""LLM settings of a call merge into the run's [llm] section instead of replacing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from vietser.config import RunConfig, read_reasoning_config, save_config
from vietser.errors import ConfigError
from vietser.llm.client import LLMConfig, LLMOverrides


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
