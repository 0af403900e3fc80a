"""Notification workers (seed Q365): a pool of tasks sending what the relay queues.

Each worker takes a row, checks its recipient's allowance (a per-recipient rate limit,
aiolimiter's leaky bucket), sends it through the :class:`~leaky_app.notify.mailer.Mailer`
(breaker, backoff with jitter) and records the outcome in the outbox: ``sent``, or ``dead``
after the last refused attempt. A recipient over its allowance does not hold a worker: the
row goes back to the queue after the wait its bucket needs.

Usage::

    notifier = Notifier(outbox, mailer, metrics, NotifierConfig(workers=4))
    task = asyncio.create_task(notifier.run())     # relay + workers; cancel to stop
    notifier.relay.wake()                          # a row was staged
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiolimiter import AsyncLimiter
from cachetools import LRUCache
from opentelemetry.trace import SpanKind

from leaky_app.metrics import NotifyMetrics
from leaky_app.notify.mailer import Mailer
from leaky_app.notify.relay import OutboxRelay
from leaky_app.outbox import Outbox, OutboxRow
from leaky_app.tracing import TRACER, extract

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifierConfig:
    workers: int = 4
    queue_size: int = 1000
    per_recipient_per_minute: float = 120.0
    per_recipient_burst: int = 10  # sent back to back before the rate applies
    max_recipients: int = 10_000  # allowance buckets kept, least recently used evicted
    poll_seconds: float = 0.5


class Notifier:
    def __init__(
        self, outbox: Outbox, mailer: Mailer, metrics: NotifyMetrics, config: NotifierConfig
    ) -> None:
        self.outbox = outbox
        self.mailer = mailer
        self.metrics = metrics
        self.config = config
        self.queue: asyncio.Queue[OutboxRow] = asyncio.Queue(maxsize=config.queue_size)
        self.relay = OutboxRelay(outbox, self.queue, metrics, poll_seconds=config.poll_seconds)
        self._allowances: LRUCache[str, AsyncLimiter] = LRUCache(maxsize=config.max_recipients)
        self._deferred: set[asyncio.Task[None]] = set()
        metrics.queue_depth.set_function(self.queue.qsize)

    def _allowance(self, recipient: str) -> AsyncLimiter:
        limiter = self._allowances.get(recipient)
        if limiter is None:
            # aiolimiter's bucket holds max_rate; scale its period so the burst is ours.
            burst = self.config.per_recipient_burst
            limiter = AsyncLimiter(burst, burst * 60.0 / self.config.per_recipient_per_minute)
            self._allowances[recipient] = limiter
        return limiter

    async def _put_back(self, row: OutboxRow, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.queue.put(row)

    def _defer(self, row: OutboxRow) -> None:
        self.metrics.throttled.inc()
        delay = 60.0 / self.config.per_recipient_per_minute
        task = asyncio.create_task(self._put_back(row, delay), name="notify-put-back")
        self._deferred.add(task)
        task.add_done_callback(self._deferred.discard)

    async def _handle(self, row: OutboxRow) -> None:
        allowance = self._allowance(row.recipient)
        if not allowance.has_capacity():
            self._defer(row)  # still in flight for the relay: it will not be read twice
            return
        # The delivery continues the trace of the request that staged the notice (seed Q362);
        # a notice staged outside a sampled trace is delivered untraced.
        parent = extract(row.traceparent)
        if parent is None:
            await self._deliver(row, allowance)
            return
        with TRACER.start_as_current_span(
            "notify deliver",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={"messaging.destination.name": "outbox", "leaky_app.notice.kind": row.kind,
                        "messaging.message.id": row.key},
        ):  # fmt: skip
            await self._deliver(row, allowance)

    async def _deliver(self, row: OutboxRow, allowance: AsyncLimiter) -> None:
        try:
            await allowance.acquire()
            delivery = await self.mailer.deliver(row)
            if delivery.sent:
                await self.outbox.mark_sent(row.id, delivery.attempts)
                self.metrics.delivery_seconds.observe(max(0.0, time.time() - row.created_at))
                self.metrics.notifications.labels(kind=row.kind, result="sent").inc()
            else:
                await self.outbox.mark_dead(row.id, delivery.attempts, delivery.error or "")
                self.metrics.notifications.labels(kind=row.kind, result="dead").inc()
                log.warning("notice %s is a dead letter: %s", row.key, delivery.error)
        finally:
            # Sent, dead, or failed to record (then still pending and read again later).
            self.relay.done(row.id)

    async def _work(self) -> None:
        me = asyncio.current_task()
        while True:
            # On 3.11 asyncio.wait_for (inside aiosmtplib) swallows a cancel that lands as the
            # server's reply arrives; the task still counts the request. Honour it here, or
            # the worker waits on the queue for ever and its TaskGroup never finishes.
            if me is not None and me.cancelling():
                raise asyncio.CancelledError
            row = await self.queue.get()
            try:
                await self._handle(row)
            except Exception:
                log.exception("notice %s failed; it stays pending", row.key)
            finally:
                self.queue.task_done()

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.relay.run(), name="outbox-relay")
                for i in range(self.config.workers):
                    group.create_task(self._work(), name=f"notify-worker-{i}")
        finally:
            for task in list(self._deferred):
                task.cancel()
