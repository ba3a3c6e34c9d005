from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from vietser.llm.cache import CallRecord, ResponseCache, cache_key, default_cache_path

MESSAGES = [{"role": "system", "content": "classify"}, {"role": "user", "content": "P(calm) = 0.6"}]
PARAMS = {"model": "m", "temperature": 0.0, "max_tokens": 256}


def record(key: str, error: str | None = None, response: str = '{"label": "calm"}') -> CallRecord:
    return CallRecord(
        key=key,
        model="m",
        request={"messages": MESSAGES, "params": PARAMS},
        response=response,
        parsed=None if error else {"label": "calm"},
        prompt_tokens=12,
        completion_tokens=5,
        latency_s=0.25,
        error=error,
    )


def test_cache_key_is_stable_for_equal_requests() -> None:
    assert cache_key(MESSAGES, PARAMS) == cache_key([dict(m) for m in MESSAGES], dict(reversed(PARAMS.items())))


def test_cache_key_changes_with_any_parameter_or_message() -> None:
    base = cache_key(MESSAGES, PARAMS)
    assert cache_key(MESSAGES, {**PARAMS, "temperature": 0.7}) != base
    assert cache_key(MESSAGES, {**PARAMS, "model": "other"}) != base
    assert cache_key(MESSAGES[:1], PARAMS) != base


def test_default_path_is_under_the_user_cache_dir(isolated_user_dirs: Path) -> None:
    assert default_cache_path().parent == isolated_user_dirs


def test_logged_success_is_served_with_all_its_fields(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "calls.sqlite3")
    cache.add(record("k1"))
    hit = cache.get("k1")
    assert hit is not None
    assert (hit.response, hit.parsed, hit.prompt_tokens, hit.completion_tokens, hit.latency_s) == (
        '{"label": "calm"}',
        {"label": "calm"},
        12,
        5,
        0.25,
    )
    assert hit.request["messages"] == MESSAGES


def test_failed_call_is_logged_but_never_served(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "calls.sqlite3")
    cache.add(record("k1", error="malformed json", response='{"label": "ca'))
    assert cache.get("k1") is None
    [failed] = cache.records(failed_only=True)
    assert (failed.key, failed.error, failed.response) == ("k1", "malformed json", '{"label": "ca')


def test_log_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    first = ResponseCache(path)
    first.add(record("k1"))
    first.close()
    assert ResponseCache(path).get("k1") is not None


def test_database_uses_write_ahead_logging(tmp_path: Path) -> None:
    path = tmp_path / "calls.sqlite3"
    ResponseCache(path).add(record("k1"))
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_writers_lose_no_rows(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "calls.sqlite3")

    def write(thread: int) -> None:
        for i in range(25):
            cache.add(record(f"t{thread}-{i}"))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache.records()) == 100
