"""SQLite store of human reviews and rule proposals, kept next to the run it reviews.

Reviews are append-only (triggers refuse UPDATE and DELETE): a correction is a
new row whose ``previous_label`` is what it replaces, so the full history feeds
agreement statistics and rule refinement. Every operation opens its own
connection, so any number of request threads can write at once; WAL mode and a
busy timeout make concurrent writers wait instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel

from vietser.errors import ConfigError
from vietser.labels import CLASSES

SCHEMA_VERSION = 1
_LABELS = ", ".join(f"'{label}'" for label in CLASSES)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    clip_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    label TEXT NOT NULL CHECK (label IN ({_LABELS})),
    previous_label TEXT,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_by_clip ON reviews (clip_id, reviewer, id);
CREATE TRIGGER IF NOT EXISTS reviews_no_update BEFORE UPDATE ON reviews
BEGIN SELECT RAISE(ABORT, 'reviews are append-only: add a new review instead'); END;
CREATE TRIGGER IF NOT EXISTS reviews_no_delete BEFORE DELETE ON reviews
BEGIN SELECT RAISE(ABORT, 'reviews are append-only: add a new review instead'); END;
CREATE TABLE IF NOT EXISTS rule_proposals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    clip_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    rule TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'proposed'
);
PRAGMA user_version = {SCHEMA_VERSION};
"""


class Review(BaseModel):
    """One person's label for one clip at one moment."""

    id: int
    clip_id: str
    reviewer: str
    label: str
    previous_label: str | None
    note: str
    created_at: str


class RuleProposal(BaseModel):
    """A rule a reviewer proposed from a clip; refinement decides whether to adopt it."""

    id: int
    clip_id: str
    reviewer: str
    rule: dict[str, Any]
    created_at: str
    status: str


class ReviewStore:
    """Reviews and rule proposals in one SQLite file (``reviews.sqlite`` in the run directory)."""

    def __init__(self, path: str | Path, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        try:
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigError(
                f"cannot open the review store {self.path}: {exc}. Make the run directory writable."
            ) from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front, so its reads cannot go stale."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def add_review(self, clip_id: str, reviewer: str, label: str, note: str, model_label: str | None) -> Review:
        """Append a review; ``previous_label`` is this reviewer's last label, else the model's."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT label FROM reviews WHERE clip_id = ? AND reviewer = ? ORDER BY id DESC LIMIT 1",
                (clip_id, reviewer),
            ).fetchone()
            previous = row["label"] if row else model_label
            created = _now()
            cursor = conn.execute(
                "INSERT INTO reviews (clip_id, reviewer, label, previous_label, note, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (clip_id, reviewer, label, previous, note, created),
            )
        return Review(
            id=int(cursor.lastrowid or 0),
            clip_id=clip_id,
            reviewer=reviewer,
            label=label,
            previous_label=previous,
            note=note,
            created_at=created,
        )

    def reviews(self, clip_id: str | None = None, reviewer: str | None = None) -> list[Review]:
        """Reviews in the order they were made, optionally for one clip and/or one reviewer."""
        query, params = _filtered("SELECT * FROM reviews", clip_id=clip_id, reviewer=reviewer)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY id", params).fetchall()
        return [Review(**dict(row)) for row in rows]

    def add_proposal(self, clip_id: str, reviewer: str, rule: dict[str, Any]) -> RuleProposal:
        """Record a proposed rule (status 'proposed')."""
        created = _now()
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO rule_proposals (clip_id, reviewer, rule, created_at) VALUES (?, ?, ?, ?)",
                (clip_id, reviewer, json.dumps(rule, ensure_ascii=False), created),
            )
        return RuleProposal(
            id=int(cursor.lastrowid or 0),
            clip_id=clip_id,
            reviewer=reviewer,
            rule=rule,
            created_at=created,
            status="proposed",
        )

    def proposals(self, clip_id: str | None = None) -> list[RuleProposal]:
        """Rule proposals in the order they were made."""
        query, params = _filtered("SELECT * FROM rule_proposals", clip_id=clip_id)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY id", params).fetchall()
        return [RuleProposal(**{**dict(row), "rule": json.loads(row["rule"])}) for row in rows]


def _filtered(query: str, **equals: str | None) -> tuple[str, list[str]]:
    """Append ``WHERE column = ?`` for each given value; column names come from code, not input."""
    given = {column: value for column, value in equals.items() if value is not None}
    if not given:
        return query, []
    return query + " WHERE " + " AND ".join(f"{column} = ?" for column in given), list(given.values())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
