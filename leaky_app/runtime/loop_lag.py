"""Event-loop lag: how late a timer fires compared with when it was due.

A healthy loop runs a 250 ms timer within a millisecond or so; a handler that blocks the loop
for 2 s makes the next tick 2 s late. That lateness is observed into a histogram, and the
task count is sampled at the same time.

Usage::

    monitor = LoopLagMonitor(metrics.event_loop_lag, interval=0.25)
    task = asyncio.create_task(monitor.run())
"""

from __future__ import annotations

import asyncio

from prometheus_client import Histogram


class LoopLagMonitor:
    def __init__(self, histogram: Histogram, interval: float = 0.25) -> None:
        self._histogram = histogram
        self.interval = interval
        self.last_lag = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.last_lag = max(0.0, loop.time() - due)
            self._histogram.observe(self.last_lag)
