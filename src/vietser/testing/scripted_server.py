"""A scripted OpenAI-compatible chat server: a test double for LLM endpoints.

:class:`ScriptedOpenAIServer` is a real HTTP server on ``127.0.0.1`` (an
ephemeral port) speaking the chat-completions wire protocol
(``POST /v1/chat/completions``, ``GET /v1/models``). It does no language
modelling: each request takes the next entry of its *script* (a reply, an HTTP
error, a refusal, a delay), and once the script is used up it answers by its
*policy*, a function of the request body. It records every request body and
the most requests it ever had in flight, so tests and benchmarks can check
failure handling, caching and concurrency without a real model::

    with ScriptedOpenAIServer([http_error(500)], latency_s=0.05) as server:
        config = LLMConfig(base_url=server.base_url, model=server.model)
        ...
        assert server.max_in_flight <= config.concurrency
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Policy = Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Reply:
    """Answer with this message content (any text, valid JSON or not)."""

    content: str | None
    refusal: str | None = None
    finish_reason: str = "stop"


@dataclass(frozen=True)
class HTTPFailure:
    """Answer with an HTTP error status and an OpenAI-style error body."""

    status: int = 500
    message: str = "scripted server error"
    retry_after: str | None = None


@dataclass(frozen=True)
class RawResponse:
    """Answer with this body verbatim, e.g. a proxy's HTML error page sent with status 200."""

    body: str
    status: int = 200
    content_type: str = "text/html"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` (e.g. longer than the client's timeout), then answer by ``then`` or the policy."""

    seconds: float
    then: Reply | HTTPFailure | RawResponse | None = None


ScriptEntry = Reply | HTTPFailure | RawResponse | Delay


def reply(label: str, confidence: float = 0.8, rules_used: Iterable[str] = (), rationale: str = "scripted") -> Reply:
    """A well-formed answer JSON for ``label``."""
    answer = {"label": label, "confidence": confidence, "rules_used": list(rules_used), "rationale": rationale}
    return Reply(json.dumps(answer))


def malformed_json() -> Reply:
    """A reply cut off in the middle of its JSON object."""
    return Reply('{"label": "calm", "confidence": 0.7, "rules_us')


def wrong_label(label: str = "happy") -> Reply:
    """A well-formed answer whose label is not one of the classes."""
    return reply(label)


def refusal(text: str = "I can't help with that.") -> Reply:
    """A refusal in the ``message.refusal`` field, with no content."""
    return Reply(None, refusal=text)


def raw(body: str, status: int = 200, content_type: str = "text/html") -> RawResponse:
    """A verbatim HTTP response that is not a chat completion."""
    return RawResponse(body, status, content_type)


def http_error(status: int = 500, retry_after: str | None = None) -> HTTPFailure:
    """An HTTP error response, with a ``Retry-After`` header when given (e.g. ``"2"``)."""
    return HTTPFailure(status, retry_after=retry_after)


def delay(seconds: float, then: Reply | HTTPFailure | RawResponse | None = None) -> Delay:
    """Hold the request for ``seconds`` before answering."""
    return Delay(seconds, then)


_PROBABILITY = re.compile(r"P\((\w+)\)\s*=\s*([0-9]*\.?[0-9]+)")


def acoustic_argmax_policy(body: dict[str, Any]) -> str:
    """Answer the class with the highest ``P(class) = p`` line in the last user message."""
    user = [m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"]
    found = {name: float(p) for name, p in _PROBABILITY.findall(user[-1] if user else "")}
    label = max(found, key=found.__getitem__) if found else "calm"
    return reply(label, confidence=found.get(label, 0.5), rationale="scripted: acoustic argmax").content or ""


def fixed_label_policy(label: str, rules_used: Iterable[str] = ()) -> Policy:
    """A policy that always answers ``label``."""
    content = reply(label, rules_used=rules_used, rationale=f"scripted: always {label}").content or ""
    return lambda body: content


def _approx_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about four characters per token."""
    return max(1, len(text) // 4)


def _completion_body(
    model: str, answer: Reply, messages: list[dict[str, Any]], prompt_tokens: int | None = None
) -> dict[str, Any]:
    if prompt_tokens is None:
        prompt_tokens = sum(_approx_tokens(str(m.get("content", ""))) for m in messages)
    completion_tokens = _approx_tokens(answer.content or answer.refusal or "")
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.content, "refusal": answer.refusal},
                "finish_reason": answer.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _json_response(payload: dict[str, Any], status: int = HTTPStatus.OK) -> RawResponse:
    return RawResponse(json.dumps(payload), status, "application/json")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Requests abandoned by a timed-out client must not hold up shutdown.
    block_on_close = False


class ScriptedOpenAIServer:
    """A local chat-completions server answering from a script, then by a policy."""

    def __init__(
        self,
        script: Iterable[ScriptEntry] = (),
        policy: Policy = acoustic_argmax_policy,
        *,
        latency_s: float = 0.0,
        model: str = "scripted-model",
        prompt_tokens: int | None = None,
    ) -> None:
        """``prompt_tokens`` fixes the reported prompt-token count (a server that cut the prompt reports few)."""
        self.model = model
        self.prompt_tokens = prompt_tokens
        self.policy = policy
        self.latency_s = latency_s
        self._script: deque[ScriptEntry] = deque(script)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._requests: list[dict[str, Any]] = []
        self._arrivals: list[float] = []
        self._in_flight = 0
        self.max_in_flight = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The endpoint root to give a client, ``http://127.0.0.1:<port>/v1``."""
        if self._httpd is None:
            raise RuntimeError("ScriptedOpenAIServer is not running; use it as a context manager or call start().")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Bodies of the chat requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """How many chat requests arrived so far (retries included)."""
        with self._lock:
            return len(self._requests)

    @property
    def arrival_times(self) -> list[float]:
        """``time.perf_counter()`` at each chat request's arrival."""
        with self._lock:
            return list(self._arrivals)

    def start(self) -> ScriptedOpenAIServer:
        """Listen on an ephemeral port of 127.0.0.1 in a background thread."""
        self._closing.clear()
        self._httpd = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; requests still held by a delay are released at once."""
        self._closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd, self._thread = None, None

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _begin(self, body: dict[str, Any]) -> ScriptEntry | None:
        with self._lock:
            self._requests.append(body)
            self._arrivals.append(time.perf_counter())
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return self._script.popleft() if self._script else None

    def _end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def answer(self, body: dict[str, Any]) -> RawResponse:
        """The HTTP response to one chat request (also counts it)."""
        entry = self._begin(body)
        try:
            if isinstance(entry, Delay):
                self._closing.wait(entry.seconds)
                entry = entry.then
            if entry is None:
                self._closing.wait(self.latency_s)
                entry = Reply(self.policy(body))
            if isinstance(entry, RawResponse):
                return entry
            if isinstance(entry, HTTPFailure):
                error = {"message": entry.message, "type": "server_error", "code": entry.status}
                response = _json_response({"error": error}, entry.status)
                headers = () if entry.retry_after is None else (("Retry-After", entry.retry_after),)
                return RawResponse(response.body, response.status, response.content_type, headers)
            return _json_response(_completion_body(self.model, entry, body.get("messages", []), self.prompt_tokens))
        finally:
            self._end()

    def models(self) -> RawResponse:
        """The ``GET /v1/models`` listing: the one scripted model."""
        entry = {"id": self.model, "object": "model", "created": 0, "owned_by": "vietser-scripted"}
        return _json_response({"object": "list", "data": [entry]})


def _handler_for(server: ScriptedOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms to each reply.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            self._send(server.models() if self.path.rstrip("/") == "/v1/models" else self._not_found())

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            self._send(server.answer(body) if self.path.rstrip("/") == "/v1/chat/completions" else self._not_found())

        def _not_found(self) -> RawResponse:
            return _json_response({"error": {"message": f"no route {self.path}"}}, HTTPStatus.NOT_FOUND)

        def _send(self, response: RawResponse) -> None:
            data = response.body.encode("utf-8")
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in response.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timed out); nothing left to answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silence per-request logging to stderr."""

    return Handler
