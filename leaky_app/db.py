"""The service's SQLite database: one writer, many readers (WAL).

Two aiosqlite connections, each on its own thread so no query blocks the event loop:

* the **reader** runs single statements; in WAL mode it sees only committed data;
* the **writer** runs every write, single statements and :meth:`Database.transaction`
  blocks, one at a time behind an ``asyncio.Lock``. Without the lock a statement from another
  coroutine would run *inside* someone else's open transaction on the shared connection and
  be committed, or rolled back, with it (seed Q378: a check-then-act race across ``await``).

Usage::

    db = await Database.open(Path("run/leaky_app.db"), schema=SCHEMA)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO links ...", (...))
        await tx.execute("INSERT INTO outbox ...", (...))   # both commit, or neither
    rows = await db.fetchall("SELECT ...", (...))
    await db.close()
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from opentelemetry.trace import Span, SpanKind

from leaky_app.tracing import child_span

Params = Sequence[Any]


class StoreUnavailable(Exception):
    """The database cannot be reached; the message says why."""


class Transaction:
    """Statements inside one ``BEGIN IMMEDIATE`` ... ``COMMIT`` on the writer."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        with db_span(sql):
            async with self._conn.execute(sql, params) as cursor:
                return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with db_span(sql):
            await self._conn.executemany(sql, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        with db_span(sql):
            async with self._conn.execute(sql, params) as cursor:
                return list(await cursor.fetchall())


def db_span(sql: str) -> AbstractContextManager[Span | None]:
    """A client span for one statement (named by its verb), inside a recording trace only.
    The statement text has no values in it: they are bound parameters."""
    verb = sql.split(None, 1)[0].upper() if sql.strip() else "SQL"
    attributes = {"db.system.name": "sqlite", "db.query.text": sql[:300]}
    return child_span(f"sqlite {verb}", SpanKind.CLIENT, attributes)


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a commit is durable against a process crash (the WAL is written before the
    # commit returns); only a power loss may drop the last transactions.
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("PRAGMA busy_timeout=5000")
    return conn


class Database:
    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, schema: str, migrations: Sequence[str] = ()) -> Database:
        """Open (creating) the file, apply ``schema`` and each idempotent ``migrations`` step."""
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        try:
            await writer.executescript(schema)
            for step in migrations:
                try:
                    await writer.execute(step)
                except sqlite3.OperationalError as exc:
                    # ALTER TABLE ADD COLUMN on a database that already has the column.
                    if "duplicate column" not in str(exc):
                        raise
            reader = await _connect(path)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader)

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """``async with db.transaction() as tx:`` every statement commits together, or, when
        the block raises, none does."""
        with db_span("TRANSACTION"):
            async with self._write_lock:
                await self._writer.execute("BEGIN IMMEDIATE")
                try:
                    yield Transaction(self._writer)
                    await self._writer.execute("COMMIT")
                except BaseException:
                    # Also after a failed COMMIT, which leaves the transaction open.
                    if self._writer.in_transaction:
                        await self._rollback()
                    raise

    async def _rollback(self) -> None:
        try:
            await self._writer.execute("ROLLBACK")
        except sqlite3.OperationalError:
            # Cancelled while COMMIT was on the connection's thread: the COMMIT went on and
            # finished first, so there is nothing left to roll back.
            if self._writer.in_transaction:
                raise

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One write statement on its own (it commits by itself); returns rows changed."""
        with db_span(sql):
            async with self._write_lock, self._writer.execute(sql, params) as cursor:
                return cursor.rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        with db_span(sql):
            async with self._reader.execute(sql, params) as cursor:
                row: sqlite3.Row | None = await cursor.fetchone()
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        with db_span(sql):
            async with self._reader.execute(sql, params) as cursor:
                return list(await cursor.fetchall())

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database file is there and answers."""
        if not self.path.exists():
            raise StoreUnavailable(f"database file {self.path} is missing")
        try:
            await self.fetchone("SELECT 1")
        except (sqlite3.Error, ValueError) as exc:  # aiosqlite raises ValueError once closed
            raise StoreUnavailable(f"database query failed: {exc}") from exc
