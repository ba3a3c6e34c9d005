"""SQLite log of every LLM call; successful ones are replayed instead of re-sent.

One table, ``calls``: each row holds the request (messages and parameters),
the raw reply, the validated answer, tokens, latency and time. A row with
``error`` set records a failed call for audit and is never served, so a rerun
retries it. Rows are keyed by :func:`cache_key`, the sha256 of everything that
determines the reply (model, messages, temperature, max_tokens, seed, schema);
the endpoint URL is not part of it, so the same model behind another server
shares the log.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vietser.llm.client import ChatReply

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT,
    parsed TEXT,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency_s REAL NOT NULL,
    created_at REAL NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS calls_key ON calls (key);
"""

_COLUMNS = "key, model, request, response, parsed, prompt_tokens, completion_tokens, latency_s, created_at, error"


def default_cache_path() -> Path:
    """``$VIETSER_CACHE_DIR/llm-calls.sqlite3``, else under ``~/.cache/vietser``."""
    root = os.environ.get("VIETSER_CACHE_DIR") or Path.home() / ".cache" / "vietser"
    return Path(root) / "llm-calls.sqlite3"


def cache_key(messages: list[dict[str, str]], params: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the messages and the request parameters."""
    payload = json.dumps({"messages": messages, "params": params}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CallRecord:
    """One logged call; ``error`` is ``None`` for a reply that passed validation."""

    key: str
    model: str
    request: dict[str, Any]
    response: str | None
    parsed: dict[str, Any] | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    error: str | None = None
    created_at: float = field(default_factory=time.time)

    @classmethod
    def from_reply(
        cls, key: str, model: str, request: dict[str, Any], reply: ChatReply, parsed: dict[str, Any] | None, error: str | None
    ) -> CallRecord:
        """The record of one chat reply: its text (or refusal), tokens and latency."""
        return cls(
            key=key,
            model=model,
            request=request,
            response=reply.content if reply.content is not None else reply.refusal,
            parsed=parsed,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            latency_s=reply.latency_s,
            error=error,
        )


class ResponseCache:
    """The call log at ``path``; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def get(self, key: str) -> CallRecord | None:
        """The latest successful call with this key, or ``None``."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM calls WHERE key = ? AND error IS NULL ORDER BY id DESC LIMIT 1",
                (key,),
            ).fetchone()
        return _record(row) if row else None

    def add(self, record: CallRecord) -> None:
        """Log one call, successful or failed."""
        values = (
            record.key,
            record.model,
            json.dumps(record.request, ensure_ascii=False),
            record.response,
            json.dumps(record.parsed, ensure_ascii=False) if record.parsed is not None else None,
            record.prompt_tokens,
            record.completion_tokens,
            record.latency_s,
            record.created_at,
            record.error,
        )
        with self._lock:
            self._db.execute(f"INSERT INTO calls ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)

    def records(self, *, failed_only: bool = False) -> list[CallRecord]:
        """Every logged call in the order made (only the failed ones if asked)."""
        where = "WHERE error IS NOT NULL" if failed_only else ""
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM calls {where} ORDER BY id").fetchall()
        return [_record(row) for row in rows]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()


def _record(row: tuple[Any, ...]) -> CallRecord:
    key, model, request, response, parsed, prompt_tokens, completion_tokens, latency_s, created_at, error = row
    return CallRecord(
        key=key,
        model=model,
        request=json.loads(request),
        response=response,
        parsed=json.loads(parsed) if parsed is not None else None,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_s=latency_s,
        error=error,
        created_at=created_at,
    )
