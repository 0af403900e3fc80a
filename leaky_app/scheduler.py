"""Periodic jobs that exactly one instance runs (seed Q372): a ticker plus a leader lease.

Every ``tick`` seconds the scheduler renews or tries for the lease (see
:mod:`leaky_app.leader`), then runs each job that is due, only while it leads. A job that
raises is logged and counted; the next run is on schedule. On shutdown the lease is released,
so a follower takes over at its next tick rather than after the TTL.

Usage::

    scheduler = Scheduler(leadership, [Job("expire_links", 5.0, expiry.run)], metrics)
    task = asyncio.create_task(scheduler.run())
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from leaky_app.leader import Leadership
from leaky_app.metrics import SchedulerMetrics

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    every: float
    run: Callable[[], Awaitable[int]]  # returns how many items it handled
    last_run: float = field(default=float("-inf"))


class Scheduler:
    def __init__(
        self,
        leadership: Leadership,
        jobs: Sequence[Job],
        metrics: SchedulerMetrics,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.leadership = leadership
        self.jobs = list(jobs)
        self.metrics = metrics
        self._clock = clock
        # Renew three times a lease: two renewals may fail before the lease lapses.
        self.tick = min([leadership.ttl / 3, *(job.every for job in self.jobs)])

    async def run(self) -> None:
        try:
            while True:
                await self.run_once()
                await asyncio.sleep(self.tick)
        finally:
            # Shielded: the lease is released even when shutdown cancels this task twice.
            await asyncio.shield(self.leadership.resign())

    async def run_once(self) -> None:
        await self.leadership.step()
        for job in self.jobs:
            now = self._clock()
            if not self.leadership.is_leader or now - job.last_run < job.every:
                continue
            job.last_run = now
            try:
                handled = await job.run()
            except Exception:
                log.exception("scheduled job %s failed", job.name)
                self.metrics.job_runs.labels(job=job.name, result="error").inc()
                continue
            self.metrics.job_runs.labels(job=job.name, result="ok").inc()
            self.metrics.job_items.labels(job=job.name).inc(handled)
