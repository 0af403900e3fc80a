"""The transactional outbox (seed Q377).

A domain write and the message announcing it commit in one SQLite transaction: the caller
passes :func:`stage` its open :class:`~leaky_app.db.Transaction`. A relay
(:mod:`leaky_app.notify.relay`) later reads pending rows and hands them to the notifier; a row
is marked ``sent`` only once the SMTP server has accepted the mail, so a crash anywhere in
between means the row is sent again after restart: at-least-once. The row's ``key`` is the
idempotency key the receiver uses to drop duplicates.

States: ``pending`` -> ``sent`` | ``dead`` (refused after the last attempt; a dead letter).
``retry_dead`` moves a dead letter back to ``pending``.

Usage::

    async with db.transaction() as tx:
        await tx.execute("INSERT INTO links ...", (...))
        await stage(tx, OutboxEvent.new("link-created:abc:1700000000000", "link_created",
                                        "owner@example.org", {"code": "abc"}))
    rows = await Outbox(db).pending(limit=100)
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanKind

from leaky_app.db import Database, Transaction
from leaky_app.tracing import child_span, inject_current

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at REAL NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending',
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    done_at    REAL,
    traceparent TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS outbox_dead ON outbox (id) WHERE state = 'dead';
"""

# Databases made before tracing: the column the W3C trace context of the staging request rides in.
MIGRATIONS = ("ALTER TABLE outbox ADD COLUMN traceparent TEXT",)

PENDING, SENT, DEAD = "pending", "sent", "dead"


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    key: str  # idempotency key: unique per event, stable across re-sends
    kind: str
    recipient: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    key: str
    kind: str
    recipient: str
    payload: Mapping[str, Any]
    created_at: float
    state: str
    attempts: int
    last_error: str | None
    traceparent: str | None = None  # the staging request's trace: the delivery continues it

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> OutboxRow:
        return cls(
            id=row["id"],
            key=row["key"],
            kind=row["kind"],
            recipient=row["recipient"],
            payload=json.loads(row["payload"]),
            created_at=row["created_at"],
            state=row["state"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            traceparent=row["traceparent"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "kind": self.kind,
            "recipient": self.recipient,
            "payload": dict(self.payload),
            "created_at": self.created_at,
            "state": self.state,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "traceparent": self.traceparent,
        }


_SELECT = (
    "SELECT id, key, kind, recipient, payload, created_at, state, attempts, last_error,"
    " traceparent FROM outbox"
)


async def stage(tx: Transaction, event: OutboxEvent, now: float | None = None) -> None:
    """Add ``event`` to the outbox inside the caller's transaction. A key already there is
    kept as it is (the event was staged before), so staging is idempotent. The current trace
    context is stored with the row, so its delivery joins the trace of the staging request."""
    attributes = {"messaging.destination.name": "outbox", "leaky_app.notice.kind": event.kind}
    with child_span("outbox stage", SpanKind.PRODUCER, attributes):
        await tx.execute(
            "INSERT OR IGNORE INTO outbox (key, kind, recipient, payload, created_at, traceparent)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                event.key,
                event.kind,
                event.recipient,
                json.dumps(dict(event.payload)),
                time.time() if now is None else now,
                inject_current(),
            ),
        )


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def pending(self, limit: int) -> list[OutboxRow]:
        """The oldest pending rows, at most ``limit``."""
        rows = await self.db.fetchall(
            _SELECT + " WHERE state = 'pending' ORDER BY id LIMIT ?",
            (limit,),
        )
        return [OutboxRow.from_row(r) for r in rows]

    async def mark_sent(self, row_id: int, attempts: int) -> None:
        await self.db.execute(
            "UPDATE outbox SET state = 'sent', attempts = attempts + ?, last_error = NULL,"
            " done_at = ? WHERE id = ? AND state = 'pending'",
            (attempts, time.time(), row_id),
        )

    async def mark_dead(self, row_id: int, attempts: int, error: str) -> None:
        await self.db.execute(
            "UPDATE outbox SET state = 'dead', attempts = attempts + ?, last_error = ?,"
            " done_at = ? WHERE id = ? AND state = 'pending'",
            (attempts, error[:500], time.time(), row_id),
        )

    async def dead_letters(self, limit: int = 100, after_id: int = 0) -> list[OutboxRow]:
        rows = await self.db.fetchall(
            _SELECT + " WHERE state = 'dead' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [OutboxRow.from_row(r) for r in rows]

    async def retry_dead(self, row_id: int) -> bool:
        """Move one dead letter back to pending; False when ``row_id`` is not a dead letter."""
        changed = await self.db.execute(
            "UPDATE outbox SET state = 'pending', done_at = NULL WHERE id = ? AND state = 'dead'",
            (row_id,),
        )
        return changed > 0

    async def backlog(self) -> tuple[int, int]:
        """``(pending, dead)`` row counts; both read a partial index, never the sent rows."""
        row = await self.db.fetchone(
            "SELECT (SELECT count(*) FROM outbox WHERE state = 'pending'),"
            " (SELECT count(*) FROM outbox WHERE state = 'dead')"
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def prune_sent(self, older_than: float) -> int:
        """Delete sent rows finished before ``older_than`` (Unix time): the outbox is a queue,
        not an archive, and must not grow for ever."""
        return await self.db.execute(
            "DELETE FROM outbox WHERE state = 'sent' AND done_at < ?", (older_than,)
        )
