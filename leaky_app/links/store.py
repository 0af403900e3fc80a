"""Durable storage of links in SQLite, WAL mode (seed Q368).

One connection through aiosqlite (its own thread), so queries never block the event loop.
Every statement commits on its own (autocommit); WAL keeps readers and the writer apart, and
a committed link survives ``kill -9`` of the process.

Usage::

    store = await LinkStore.open(Path("run/links.db"))
    await store.insert(Link.new("abc1234", "https://example.org", ttl_seconds=None))
    link = await store.get("abc1234")
    await store.close()
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    code          TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    created_at    REAL NOT NULL,
    expires_at    REAL,
    clicks        INTEGER NOT NULL DEFAULT 0,
    last_click_at REAL
);
CREATE INDEX IF NOT EXISTS links_expires_at ON links (expires_at) WHERE expires_at IS NOT NULL;
"""


@dataclass(frozen=True, slots=True)
class Link:
    code: str
    url: str
    created_at: float
    expires_at: float | None = None
    clicks: int = 0
    last_click_at: float | None = None

    @classmethod
    def new(cls, code: str, url: str, ttl_seconds: int | None, now: float | None = None) -> Link:
        created = time.time() if now is None else now
        expires = created + ttl_seconds if ttl_seconds is not None else None
        return cls(code=code, url=url, created_at=created, expires_at=expires)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True, slots=True)
class ClickBatch:
    """Clicks buffered for one code since the last flush."""

    count: int
    last_at: float


class CodeTaken(Exception):
    """The code or alias is already stored."""


class StoreUnavailable(Exception):
    """The database cannot be reached; the message says why."""


class LinkStore:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> LinkStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a commit is durable against a process crash (the WAL is written before the
        # commit returns); only a power loss may drop the last transactions.
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.executescript(SCHEMA)
        return cls(conn, path)

    async def close(self) -> None:
        await self._conn.close()

    async def insert(self, link: Link) -> None:
        try:
            await self._conn.execute(
                "INSERT INTO links (code, url, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (link.code, link.url, link.created_at, link.expires_at),
            )
        except sqlite3.IntegrityError as exc:
            raise CodeTaken(link.code) from exc

    async def get(self, code: str) -> Link | None:
        async with self._conn.execute(
            "SELECT code, url, created_at, expires_at, clicks, last_click_at"
            " FROM links WHERE code = ?",
            (code,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return Link(**dict(row))

    async def delete(self, code: str) -> bool:
        async with self._conn.execute("DELETE FROM links WHERE code = ?", (code,)) as cursor:
            return cursor.rowcount > 0

    async def add_clicks(self, batches: Mapping[str, ClickBatch]) -> None:
        """Add buffered click counts; ``clicks = clicks + n`` is atomic in SQL, no read first."""
        if not batches:
            return
        await self._conn.executemany(
            "UPDATE links SET clicks = clicks + ?,"
            " last_click_at = max(coalesce(last_click_at, 0), ?) WHERE code = ?",
            [(b.count, b.last_at, code) for code, b in batches.items()],
        )

    async def count(self) -> int:
        async with self._conn.execute("SELECT count(*) FROM links") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database file is there and answers."""
        if not self.path.exists():
            raise StoreUnavailable(f"database file {self.path} is missing")
        try:
            async with self._conn.execute("SELECT 1") as cursor:
                await cursor.fetchone()
        except (sqlite3.Error, ValueError) as exc:  # aiosqlite raises ValueError once closed
            raise StoreUnavailable(f"database query failed: {exc}") from exc
