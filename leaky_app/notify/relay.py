"""The outbox relay (seed Q377): pending outbox rows -> the notifier's queue.

The queue is bounded and in memory; the outbox is the durable backlog behind it. The relay
only reads as many rows as the queue has room for, so an SMTP outage fills the queue, then
leaves the rest in SQLite, and memory stays flat however long the outage lasts. Rows stay
``pending`` until the worker that sent them marks them ``sent``, so what was in the queue
when the process died is read again after restart.

Usage::

    relay = OutboxRelay(outbox, queue, metrics)
    task = asyncio.create_task(relay.run())
    relay.wake()          # after staging a row, to skip the poll interval
    relay.done(row.id)    # the worker finished with the row (sent, dead, or will retry)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from leaky_app.metrics import NotifyMetrics
from leaky_app.outbox import Outbox, OutboxRow

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        outbox: Outbox,
        queue: asyncio.Queue[OutboxRow],
        metrics: NotifyMetrics,
        poll_seconds: float = 0.5,
        keep_sent_seconds: float = 3600.0,
    ) -> None:
        self.outbox = outbox
        self.queue = queue
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.keep_sent_seconds = keep_sent_seconds
        self._inflight: set[int] = set()  # row ids in the queue or with a worker
        # Rows finished while a pending-rows read was running: the read may have seen them
        # still pending. Without this a row sent during the read was queued and sent twice
        # (a check-then-act race across the read's await, seed Q378).
        self._finished_during_read: set[int] | None = None
        self._wake = asyncio.Event()
        self._last_prune = 0.0

    def wake(self) -> None:
        self._wake.set()

    def done(self, row_id: int) -> None:
        """Call after the row's outcome is committed (sent, dead) or it is left pending."""
        self._inflight.discard(row_id)
        if self._finished_during_read is not None:
            self._finished_during_read.add(row_id)
        self._wake.set()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    async def pump(self) -> int:
        """Move pending rows into the queue while it has room; returns how many moved."""
        pending, dead = await self.outbox.backlog()
        self.metrics.outbox_pending.set(pending)
        self.metrics.dead_letters.set(dead)
        room = self.queue.maxsize - self.queue.qsize()
        if room <= 0 or pending <= len(self._inflight):
            return 0
        moved = 0
        finished: set[int] = set()
        self._finished_during_read = finished
        try:
            rows = await self.outbox.pending(limit=room + len(self._inflight))
        finally:
            self._finished_during_read = None
        for row in rows:
            # In flight rows are still pending in the table; finished ones may look pending.
            if row.id in self._inflight or row.id in finished:
                continue
            if moved >= room:
                break
            self._inflight.add(row.id)
            self.queue.put_nowait(row)
            moved += 1
        return moved

    async def _prune(self) -> None:
        now = time.time()
        if now - self._last_prune >= 60.0:
            self._last_prune = now
            await self.outbox.prune_sent(now - self.keep_sent_seconds)

    async def run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that lands
            # as the wake event fires, and the relay then outlives its TaskGroup's shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.pump()
                await self._prune()
            except Exception:
                log.exception("outbox relay pass failed; retrying next interval")
