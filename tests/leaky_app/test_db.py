"""One writer behind a lock, readers see only committed data, transactions are atomic."""

import asyncio
from pathlib import Path

import pytest

from leaky_app.db import Database

SCHEMA = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"


async def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "d.db", SCHEMA)
    try:

        async def two_steps_second_fails() -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t VALUES ('a', 1)")
                raise RuntimeError("the second step failed")

        with pytest.raises(RuntimeError):
            await two_steps_second_fails()
        assert await db.fetchall("SELECT * FROM t") == []
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES ('a', 1)")
        assert len(await db.fetchall("SELECT * FROM t")) == 1
    finally:
        await db.close()


async def test_a_write_from_another_task_is_not_rolled_back_with_a_transaction(
    tmp_path: Path,
) -> None:
    # On one shared connection the other task's INSERT would run inside the open transaction
    # and vanish with its ROLLBACK. The writer lock makes it wait for the transaction instead.
    db = await Database.open(tmp_path / "d.db", SCHEMA)
    inside = asyncio.Event()
    try:

        async def failing_transaction() -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t VALUES ('doomed', 1)")
                inside.set()
                await asyncio.sleep(0.05)  # the other task gets the loop meanwhile
                raise RuntimeError("rolled back")

        task = asyncio.create_task(failing_transaction())
        await inside.wait()
        await db.execute("INSERT INTO t VALUES ('kept', 2)")
        with pytest.raises(RuntimeError):
            await task
        rows = await db.fetchall("SELECT k FROM t ORDER BY k")
        assert [r["k"] for r in rows] == ["kept"]
    finally:
        await db.close()


async def test_readers_do_not_see_uncommitted_rows(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "d.db", SCHEMA)
    try:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES ('pending', 1)")
            assert await db.fetchall("SELECT * FROM t") == []
        assert len(await db.fetchall("SELECT * FROM t")) == 1
    finally:
        await db.close()


async def test_migrations_are_idempotent(tmp_path: Path) -> None:
    step = "ALTER TABLE t ADD COLUMN extra TEXT"
    db = await Database.open(tmp_path / "d.db", SCHEMA, [step])
    await db.close()
    db = await Database.open(tmp_path / "d.db", SCHEMA, [step])  # column already there
    try:
        await db.execute("INSERT INTO t (k, v, extra) VALUES ('a', 1, 'x')")
    finally:
        await db.close()
