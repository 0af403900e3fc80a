"""Durable storage of links in SQLite, WAL mode (seed Q368).

See :mod:`leaky_app.db` for the connections (one writer, many readers, WAL). A committed
link survives ``kill -9`` of the process, and so do the notices staged with it.

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
from dataclasses import dataclass, field
from pathlib import Path

from leaky_app.db import Database, StoreUnavailable, Transaction
from leaky_app.links import notices
from leaky_app.links.ownership import new_key
from leaky_app.outbox import MIGRATIONS as OUTBOX_MIGRATIONS
from leaky_app.outbox import SCHEMA as OUTBOX_SCHEMA
from leaky_app.outbox import stage

__all__ = ["ClickBatch", "CodeTaken", "Link", "LinkStore", "StoreUnavailable"]

# Alias claims (leaky_app.links.alias_claims): reservations, credits and their ledger.
CLAIMS_SCHEMA = """
CREATE TABLE IF NOT EXISTS alias_reservations (
    alias       TEXT PRIMARY KEY,
    owner_email TEXT NOT NULL,
    reserved_at REAL NOT NULL,
    debited     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS credits (
    owner_email TEXT PRIMARY KEY,
    balance     INTEGER NOT NULL CHECK (balance >= 0)
);
CREATE TABLE IF NOT EXISTS credit_ledger (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_email TEXT NOT NULL,
    delta       INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    at          REAL NOT NULL
);
"""
SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS links (
    code          TEXT PRIMARY KEY,
    url           TEXT NOT NULL,
    created_at    REAL NOT NULL,
    expires_at    REAL,
    clicks        INTEGER NOT NULL DEFAULT 0,
    last_click_at REAL,
    owner_email   TEXT,
    key_hash      TEXT
);
CREATE INDEX IF NOT EXISTS links_expires_at ON links (expires_at) WHERE expires_at IS NOT NULL;
"""
    + OUTBOX_SCHEMA
    + CLAIMS_SCHEMA
)
# Databases created before a column existed get it here (a no-op when it is there).
MIGRATIONS = (
    "ALTER TABLE links ADD COLUMN owner_email TEXT",
    "ALTER TABLE links ADD COLUMN key_hash TEXT",  # links made before have none: unchangeable
    # How far a claim got, for recovery after a crash (leaky_app.links.alias_claims).
    "ALTER TABLE alias_reservations ADD COLUMN debited INTEGER NOT NULL DEFAULT 0",
    *OUTBOX_MIGRATIONS,
)
# SQLite's default cap on bound parameters is 32766; stay far below it.
_IN_CHUNK = 500
_OWNED_IN = (
    "SELECT code, url, created_at, clicks, owner_email FROM links"
    " WHERE owner_email IS NOT NULL AND code IN "
)


@dataclass(frozen=True, slots=True)
class Link:
    code: str
    url: str
    created_at: float
    expires_at: float | None = None
    clicks: int = 0
    last_click_at: float | None = None
    owner_email: str | None = None
    key_hash: str | None = None  # of the management key (ownership.py); the key is not kept
    # The key itself, only on the Link that creation returns: the caller hands it out once.
    management_key: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def new(
        cls,
        code: str,
        url: str,
        ttl_seconds: int | None,
        now: float | None = None,
        owner_email: str | None = None,
    ) -> Link:
        created = time.time() if now is None else now
        expires = created + ttl_seconds if ttl_seconds is not None else None
        key, digest = new_key()
        return cls(
            code=code,
            url=url,
            created_at=created,
            expires_at=expires,
            owner_email=owner_email,
            key_hash=digest,
            management_key=key,
        )

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True, slots=True)
class ClickBatch:
    """Clicks buffered for one code since the last flush."""

    count: int
    last_at: float


class CodeTaken(Exception):
    """The code or alias is already stored."""


class LinkStore:
    """Links in the service's :class:`~leaky_app.db.Database`, with the notices each change
    owes the link's owner staged in the same transaction (the outbox, seed Q377)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.path = db.path

    @classmethod
    async def open(cls, path: Path) -> LinkStore:
        return cls(await Database.open(path, SCHEMA, MIGRATIONS))

    async def close(self) -> None:
        await self.db.close()

    async def insert(self, link: Link) -> None:
        """Store ``link``; when it has an owner, stage the "link created" notice with it."""
        async with self.db.transaction() as tx:
            await self.insert_in(tx, link)

    async def insert_in(self, tx: Transaction, link: Link) -> None:
        """:meth:`insert` inside the caller's transaction (a saga step adds its own rows)."""
        try:
            await tx.execute(
                "INSERT INTO links (code, url, created_at, expires_at, owner_email, key_hash)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    link.code,
                    link.url,
                    link.created_at,
                    link.expires_at,
                    link.owner_email,
                    link.key_hash,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise CodeTaken(link.code) from exc
        notice = notices.link_created(link)
        if notice is not None:
            await stage(tx, notice, now=link.created_at)

    async def get(self, code: str) -> Link | None:
        row = await self.db.fetchone(
            "SELECT code, url, created_at, expires_at, clicks, last_click_at, owner_email,"
            " key_hash FROM links WHERE code = ?",
            (code,),
        )
        return None if row is None else Link(**dict(row))

    async def delete(self, code: str) -> bool:
        return await self.db.execute("DELETE FROM links WHERE code = ?", (code,)) > 0

    async def delete_expired(self, now: float, limit: int) -> list[str]:
        """Delete up to ``limit`` links that expired by ``now``; returns their codes."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "DELETE FROM links WHERE code IN (SELECT code FROM links"
                " WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?) RETURNING code",
                (now, limit),
            )
        return [row["code"] for row in rows]

    async def add_clicks(self, batches: Mapping[str, ClickBatch]) -> int:
        """Add buffered click counts (``clicks = clicks + n`` is atomic in SQL, no read first)
        and stage a milestone notice for each owned link that crossed one. Returns the number
        of notices staged."""
        if not batches:
            return 0
        staged = 0
        async with self.db.transaction() as tx:
            await tx.executemany(
                "UPDATE links SET clicks = clicks + ?,"
                " last_click_at = max(coalesce(last_click_at, 0), ?) WHERE code = ?",
                [(b.count, b.last_at, code) for code, b in batches.items()],
            )
            codes = list(batches)
            for i in range(0, len(codes), _IN_CHUNK):
                chunk = codes[i : i + _IN_CHUNK]
                # Only "?" marks are joined into the SQL; the codes are bound.
                sql = _OWNED_IN + "(" + ",".join("?" * len(chunk)) + ")"
                owned = await tx.fetchall(sql, chunk)
                for row in owned:
                    after = int(row["clicks"])
                    for notice in notices.milestones_crossed(
                        row["code"],
                        row["url"],
                        row["created_at"],
                        row["owner_email"],
                        before=after - batches[row["code"]].count,
                        after=after,
                    ):
                        await stage(tx, notice)
                        staged += 1
        return staged

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT count(*) FROM links")
        return int(row[0]) if row else 0

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database file is there and answers."""
        await self.db.ping()
