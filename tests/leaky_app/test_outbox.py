"""Outbox rows: staged idempotently, then sent or dead; dead letters can be retried."""

from pathlib import Path

from leaky_app.db import Database
from leaky_app.outbox import SCHEMA, Outbox, OutboxEvent, stage


def event(key: str) -> OutboxEvent:
    return OutboxEvent(key=key, kind="link_created", recipient="o@example.org", payload={"k": 1})


async def test_states_backlog_and_retry(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "o.db", SCHEMA)
    outbox = Outbox(db)
    try:
        async with db.transaction() as tx:
            for key in ("a", "b", "c", "a"):  # "a" twice: staged once
                await stage(tx, event(key))
        rows = await outbox.pending(limit=10)
        assert [r.key for r in rows] == ["a", "b", "c"]
        assert rows[0].payload == {"k": 1}
        await outbox.mark_sent(rows[0].id, attempts=2)
        await outbox.mark_dead(rows[1].id, attempts=5, error="451 try later")
        assert await outbox.backlog() == (1, 1)
        dead = await outbox.dead_letters()
        assert [(d.key, d.attempts, d.last_error) for d in dead] == [("b", 5, "451 try later")]
        # Only pending rows change state: a late duplicate outcome does not resurrect "a".
        await outbox.mark_dead(rows[0].id, attempts=1, error="late")
        assert await outbox.backlog() == (1, 1)
        assert await outbox.retry_dead(rows[1].id) is True
        assert await outbox.retry_dead(rows[1].id) is False
        assert [r.key for r in await outbox.pending(limit=10)] == ["b", "c"]
    finally:
        await db.close()


async def test_prune_deletes_only_old_sent_rows(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "o.db", SCHEMA)
    outbox = Outbox(db)
    try:
        async with db.transaction() as tx:
            await stage(tx, event("sent"))
            await stage(tx, event("pending"))
        sent = (await outbox.pending(limit=1))[0]
        await outbox.mark_sent(sent.id, attempts=1)
        assert await outbox.prune_sent(older_than=0.0) == 0  # finished after time 0
        assert await outbox.prune_sent(older_than=4e9) == 1
        assert [r.key for r in await outbox.pending(limit=10)] == ["pending"]
    finally:
        await db.close()
