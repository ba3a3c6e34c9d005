from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest

from vietser.testing.scripted_server import (
    ScriptedOpenAIServer,
    acoustic_argmax_policy,
    delay,
    fixed_label_policy,
    http_error,
    malformed_json,
    raw,
    refusal,
)

ServerFactory = Callable[..., ScriptedOpenAIServer]


def chat(server: ScriptedOpenAIServer, text: str = "P(calm) = 0.2\nP(angry) = 0.7\nP(panic) = 0.1") -> httpx.Response:
    body = {"model": server.model, "messages": [{"role": "user", "content": text}]}
    return httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=5)


def test_models_endpoint_lists_the_scripted_model(scripted_server: ServerFactory) -> None:
    server = scripted_server(model="tiny")
    listing = httpx.get(f"{server.base_url}/models", timeout=5).json()
    assert [m["id"] for m in listing["data"]] == ["tiny"]


def test_completion_has_the_openai_wire_shape(scripted_server: ServerFactory) -> None:
    server = scripted_server()
    payload = chat(server).json()
    assert payload["object"] == "chat.completion"
    assert payload["model"] == server.model
    choice = payload["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    usage = payload["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_script_is_played_in_order_then_the_policy_answers(scripted_server: ServerFactory) -> None:
    server = scripted_server([http_error(503), malformed_json(), refusal("no")])
    assert chat(server).status_code == 503
    assert chat(server).json()["choices"][0]["message"]["content"].startswith('{"label": "calm", "confid')
    assert chat(server).json()["choices"][0]["message"]["refusal"] == "no"
    assert json.loads(chat(server).json()["choices"][0]["message"]["content"])["label"] == "angry"
    assert server.request_count == 4


def test_raw_entry_is_sent_verbatim(scripted_server: ServerFactory) -> None:
    server = scripted_server([raw("<html>bad gateway</html>", status=502)])
    response = chat(server)
    assert (response.status_code, response.text) == (502, "<html>bad gateway</html>")
    assert response.headers["content-type"] == "text/html"


def test_argmax_policy_answers_the_most_probable_class() -> None:
    body = {"messages": [{"role": "user", "content": "P(calm) = 0.1\nP(angry) = 0.2\nP(panic) = 0.7"}]}
    answer = json.loads(acoustic_argmax_policy(body))
    assert (answer["label"], answer["confidence"]) == ("panic", 0.7)


def test_fixed_label_policy_always_answers_its_label() -> None:
    policy = fixed_label_policy("calm", rules_used=["r1"])
    answer = json.loads(policy({"messages": []}))
    assert (answer["label"], answer["rules_used"]) == ("calm", ["r1"])


def test_unknown_route_is_404(scripted_server: ServerFactory) -> None:
    server = scripted_server()
    assert httpx.post(f"{server.base_url}/completions", json={}, timeout=5).status_code == 404


def test_stop_does_not_wait_for_a_delayed_request() -> None:
    server = ScriptedOpenAIServer([delay(30.0)]).start()
    with pytest.raises(httpx.ReadTimeout):
        chat_body = {"model": server.model, "messages": []}
        httpx.post(f"{server.base_url}/chat/completions", json=chat_body, timeout=0.2)
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 2.0


def test_base_url_of_a_stopped_server_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = ScriptedOpenAIServer().base_url
