"""The relay feeds a bounded queue from the outbox and never queues a finished row again."""

import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry

from leaky_app.db import Database
from leaky_app.metrics import NotifyMetrics
from leaky_app.notify.relay import OutboxRelay
from leaky_app.outbox import SCHEMA, Outbox, OutboxEvent, OutboxRow, stage


async def staged(db: Database, n: int) -> None:
    async with db.transaction() as tx:
        for i in range(n):
            await stage(tx, OutboxEvent(f"k{i}", "link_created", "o@example.org", {}))


async def test_queue_stays_bounded_and_the_rest_waits_in_the_outbox(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "r.db", SCHEMA)
    metrics = NotifyMetrics.create(CollectorRegistry())
    queue: asyncio.Queue[OutboxRow] = asyncio.Queue(maxsize=5)
    relay = OutboxRelay(Outbox(db), queue, metrics)
    try:
        await staged(db, 12)
        assert await relay.pump() == 5
        assert await relay.pump() == 0  # full: nothing read, nothing lost
        assert queue.qsize() == 5
        first = queue.get_nowait()
        await Outbox(db).mark_sent(first.id, attempts=1)
        relay.done(first.id)
        assert await relay.pump() == 1
        keys = [queue.get_nowait().key for _ in range(queue.qsize())]
        assert first.key not in keys and len(set(keys)) == 5
        assert metrics.outbox_pending._value.get() == 11  # read at the start of the pass
    finally:
        await db.close()


async def test_a_row_finished_during_the_read_is_not_queued_again(tmp_path: Path) -> None:
    """The race the live service showed (duplicate emails): the relay's read of pending rows
    is in flight, a worker finishes a row meanwhile, and the read returns it as pending."""
    db = await Database.open(tmp_path / "r.db", SCHEMA)
    finished = asyncio.Event()
    read_done = asyncio.Event()

    class ReadOverlappingAFinish(Outbox):
        async def pending(self, limit: int) -> list[OutboxRow]:
            rows = await super().pending(limit)
            read_done.set()
            await finished.wait()  # a worker finishes the row before this read returns
            return rows

    outbox = ReadOverlappingAFinish(db)
    queue: asyncio.Queue[OutboxRow] = asyncio.Queue(maxsize=1)
    relay = OutboxRelay(outbox, queue, NotifyMetrics.create(CollectorRegistry()))
    try:
        await staged(db, 2)
        finished.set()
        assert await relay.pump() == 1
        row = queue.get_nowait()  # a worker takes the first row; the queue has room again
        finished.clear()
        read_done.clear()
        second = asyncio.create_task(relay.pump())
        await read_done.wait()  # the read saw the row still pending
        await outbox.mark_sent(row.id, attempts=1)
        relay.done(row.id)
        finished.set()
        assert await asyncio.wait_for(second, 10) == 1
        assert queue.get_nowait().key == "k1"  # the next row, not the one just sent
    finally:
        await db.close()


async def test_a_cancel_that_lands_as_the_relay_wakes_stops_it(tmp_path: Path) -> None:
    """On Python 3.11 ``asyncio.wait_for`` drops a cancel that arrives in the loop iteration
    where the awaited event fires; the relay then kept polling and the notifier's shutdown
    waited for it forever (a 300 s CI timeout)."""
    db = await Database.open(tmp_path / "r.db", SCHEMA)
    metrics = NotifyMetrics.create(CollectorRegistry())
    queue: asyncio.Queue[OutboxRow] = asyncio.Queue(maxsize=5)
    try:
        for _ in range(20):
            relay = OutboxRelay(Outbox(db), queue, metrics, poll_seconds=30.0)
            task = asyncio.create_task(relay.run())
            await asyncio.sleep(0.01)  # the relay is waiting for a wake
            relay.wake()
            await asyncio.sleep(0)  # its wait has finished, the relay has not yet resumed
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done, "the relay ignored its cancellation"
            assert task.cancelled()
    finally:
        await db.close()
