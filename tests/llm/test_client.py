from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest

from vietser.errors import ConfigError
from vietser.llm.client import ChatClient, LLMConfig, LLMOverrides
from vietser.testing.scripted_server import ScriptedOpenAIServer, delay, http_error, reply

ServerFactory = Callable[..., ScriptedOpenAIServer]
ConfigFactory = Callable[..., LLMConfig]
MESSAGES = [{"role": "user", "content": "P(calm) = 0.9"}]
SCHEMA: dict[str, Any] = {"type": "object"}


def complete(config: LLMConfig):
    client = ChatClient(config)
    return client.complete(MESSAGES, SCHEMA)


def test_from_env_is_none_without_a_base_url() -> None:
    assert LLMConfig.from_env() is None


def test_from_env_reads_endpoint_and_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIETSER_LLM_BASE_URL", "http://localhost:11434/v1")
    monkeypatch.setenv("VIETSER_LLM_MODEL", "qwen2.5:7b")
    config = LLMConfig.from_env(concurrency=8)
    assert config is not None
    assert (config.base_url, config.model, config.concurrency) == ("http://localhost:11434/v1", "qwen2.5:7b", 8)


def test_from_env_without_a_model_says_which_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIETSER_LLM_BASE_URL", "http://localhost:8000/v1")
    with pytest.raises(ConfigError, match="VIETSER_LLM_MODEL"):
        LLMConfig.from_env()


def test_from_env_with_a_bad_url_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIETSER_LLM_BASE_URL", "localhost:8000")
    monkeypatch.setenv("VIETSER_LLM_MODEL", "m")
    with pytest.raises(ConfigError, match="http"):
        LLMConfig.from_env()


def test_base_url_must_be_http_and_loses_its_trailing_slash() -> None:
    assert LLMConfig(base_url="http://localhost:8000/v1/", model="m").base_url == "http://localhost:8000/v1"
    with pytest.raises(ValueError, match="http"):
        LLMConfig(base_url="localhost:8000/v1", model="m")


def test_api_key_comes_from_the_named_variable_or_a_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    config = LLMConfig(base_url="http://localhost:8000/v1", model="m", api_key_env="MY_KEY")
    assert config.api_key() == "not-needed"
    monkeypatch.setenv("MY_KEY", "sk-test")
    assert config.api_key() == "sk-test"


def test_json_schema_mode_sends_a_strict_named_schema(
    scripted_server: ServerFactory, make_config: ConfigFactory
) -> None:
    server = scripted_server([reply("calm")])
    complete(make_config(server))
    response_format = server.requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"] == {"name": "emotion_decision", "schema": SCHEMA, "strict": True}


@pytest.mark.parametrize(("mode", "expected"), [("json_object", {"type": "json_object"}), ("none", None)])
def test_weaker_structured_output_modes(
    scripted_server: ServerFactory, make_config: ConfigFactory, mode: str, expected: dict | None
) -> None:
    server = scripted_server([reply("calm")])
    complete(make_config(server, structured_output=mode))
    assert server.requests[0].get("response_format") == expected


def test_seed_temperature_and_max_tokens_are_sent(scripted_server: ServerFactory, make_config: ConfigFactory) -> None:
    server = scripted_server([reply("calm")])
    complete(make_config(server, seed=7, temperature=0.3, max_tokens=128))
    body = server.requests[0]
    assert (body["seed"], body["temperature"], body["max_tokens"]) == (7, 0.3, 128)


def test_unset_max_tokens_sends_what_the_longest_valid_answer_can_take(
    scripted_server: ServerFactory, make_config: ConfigFactory
) -> None:
    from vietser.labels import CLASSES
    from vietser.llm.client import UNBOUNDED_MAX_TOKENS
    from vietser.llm.schema import answer_json_schema, answer_token_bound

    server = scripted_server([reply("calm"), reply("calm")])
    client = ChatClient(make_config(server))
    answer_schema = answer_json_schema(CLASSES, ["R1", "R2"])
    client.complete(MESSAGES, answer_schema)
    client.complete(MESSAGES, SCHEMA)
    bounded, unbounded = (body["max_tokens"] for body in server.requests)
    assert bounded == answer_token_bound(answer_schema) > 2000
    assert unbounded == UNBOUNDED_MAX_TOKENS


def test_server_errors_are_retried_with_exponential_backoff(
    scripted_server: ServerFactory, make_config: ConfigFactory
) -> None:
    server = scripted_server([http_error(500), http_error(502)])
    completion = complete(make_config(server, max_retries=2, backoff_s=0.1))
    assert completion.error is None and completion.content is not None
    assert completion.attempts == 3 == server.request_count
    first, second, third = server.arrival_times
    assert second - first >= 0.1
    assert third - second >= 0.2


def test_persistent_server_error_is_reported_after_the_last_retry(
    scripted_server: ServerFactory, make_config: ConfigFactory
) -> None:
    server = scripted_server([http_error(500)] * 3)
    completion = complete(make_config(server, max_retries=2))
    assert (completion.error, completion.attempts, completion.content) == ("http 500", 3, None)


def test_client_errors_are_not_retried(scripted_server: ServerFactory, make_config: ConfigFactory) -> None:
    server = scripted_server([http_error(401)])
    completion = complete(make_config(server, max_retries=2))
    assert (completion.error, completion.attempts, server.request_count) == ("http 401", 1, 1)


def test_slow_server_times_out(scripted_server: ServerFactory, make_config: ConfigFactory) -> None:
    server = scripted_server([delay(5.0)])
    completion = complete(make_config(server, timeout_s=0.2))
    assert completion.error == "timeout"
    assert completion.latency_s < 2.0


def test_timeout_is_retried_and_can_recover(scripted_server: ServerFactory, make_config: ConfigFactory) -> None:
    server = scripted_server([delay(5.0)])
    completion = complete(make_config(server, timeout_s=0.2, max_retries=1))
    assert (completion.error, completion.attempts) == (None, 2)


def test_unreachable_endpoint_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = LLMConfig(base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=1, backoff_s=0.01)
    completion = complete(config)
    assert (completion.error, completion.attempts) == ("connection error", 2)


def test_usage_tokens_are_read_from_the_response(scripted_server: ServerFactory, make_config: ConfigFactory) -> None:
    server = scripted_server([reply("calm")])
    completion = complete(make_config(server))
    assert completion.prompt_tokens > 0 and completion.completion_tokens > 0


@pytest.mark.parametrize("status", [400, 422])
def test_a_rejected_json_schema_degrades_once_to_json_object_and_stays(
    scripted_server: ServerFactory, make_config: ConfigFactory, status: int
) -> None:
    server = scripted_server([http_error(status)])
    client = ChatClient(make_config(server))
    first = client.complete(MESSAGES, SCHEMA)
    second = client.complete(MESSAGES, SCHEMA)
    assert first.error is None and second.error is None
    formats = [request.get("response_format", {}).get("type") for request in server.requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    assert client.structured_output == "json_object"
    assert first.params["response_format"] == {"type": "json_object"}


def test_degradation_ends_at_no_response_format(scripted_server: ServerFactory, make_config: ConfigFactory) -> None:
    server = scripted_server([http_error(400), http_error(400), http_error(400)])
    completion = complete(make_config(server))
    formats = [request.get("response_format", {}).get("type") for request in server.requests]
    assert formats == ["json_schema", "json_object", None]
    assert completion.error == "http 400"


def test_retry_after_is_honoured_over_the_backoff(scripted_server: ServerFactory, make_config: ConfigFactory) -> None:
    server = scripted_server([http_error(429, retry_after="0.6"), reply("calm")])
    completion = complete(make_config(server, max_retries=1, backoff_s=0.01))
    first, second = server.arrival_times
    assert completion.error is None
    assert second - first >= 0.6


def test_retry_after_as_an_http_date_is_read(scripted_server: ServerFactory, make_config: ConfigFactory) -> None:
    server = scripted_server([http_error(503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"), reply("calm")])
    completion = complete(make_config(server, max_retries=1))
    assert (completion.error, completion.attempts) == (None, 2)


def test_a_timeout_is_retried_at_most_once(scripted_server: ServerFactory, make_config: ConfigFactory) -> None:
    server = scripted_server([delay(2.0), delay(2.0), reply("calm")])
    completion = complete(make_config(server, timeout_s=0.3, max_retries=5))
    assert (completion.error, completion.attempts, server.request_count) == ("timeout", 2, 2)


def test_served_model_comes_from_the_listing_or_the_given_revision(
    scripted_server: ServerFactory, make_config: ConfigFactory
) -> None:
    server = scripted_server()
    assert '"id": "scripted-model"' in ChatClient(make_config(server)).served_model()
    assert ChatClient(make_config(server, model_revision="sha256:abc")).served_model() == "sha256:abc"


def test_unlisted_model_is_named_so(scripted_server: ServerFactory, make_config: ConfigFactory) -> None:
    server = scripted_server(model="served-name")
    other = scripted_server(model="other")
    config = make_config(server).model_copy(update={"model": "asked-name"})
    assert ChatClient(config).served_model().startswith('{"id": "served-name"')  # the only one served
    assert "other" in ChatClient(make_config(other)).served_model()


def test_overrides_merge_into_the_configured_settings() -> None:
    base = LLMConfig(base_url="http://localhost:8000/v1", model="m", max_tokens=256, concurrency=3)
    merged = LLMOverrides(timeout_s=900, concurrency=1).merged_into(base)
    assert merged is not None
    assert (merged.base_url, merged.model, merged.max_tokens) == ("http://localhost:8000/v1", "m", 256)
    assert (merged.timeout_s, merged.concurrency) == (900, 1)


def test_overrides_without_any_endpoint_mean_no_llm() -> None:
    assert LLMOverrides(timeout_s=900).merged_into(None) is None


def test_an_endpoint_without_a_model_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--llm-model"):
        LLMOverrides(base_url="http://localhost:8080/v1").merged_into(None)


def test_an_out_of_range_override_is_a_config_error() -> None:
    base = LLMConfig(base_url="http://localhost:8000/v1", model="m")
    with pytest.raises(ConfigError, match="llm.concurrency"):
        LLMOverrides(concurrency=0).merged_into(base)


def test_defaults_suit_a_one_slot_cpu_server() -> None:
    config = LLMConfig(base_url="http://localhost:8080/v1", model="m")
    assert (config.concurrency, config.max_retries) == (1, 1)
    assert config.timeout_s >= 300
