"""A link's recent activity: its clicks per minute over the last hour, the sparkline of its
stats page (``GET /api/v2/links/{code}/activity``).

Kept by a consumer of the click events (:mod:`leaky_app.links.events`): once a second it takes
what has arrived, counts each click in its minute, and acknowledges the batch by its last
event. On start it first takes what is still unacknowledged, and skips any event it has
counted already. At most ``max_links`` links are kept, the least recently clicked forgotten.

Usage::

    activity = ClickActivity(events)
    task = asyncio.create_task(activity.run())       # one of the service's loops
    activity.fold(events.take())                     # what run() does every second
    activity.of("abc", now=time.time())              # [MinuteCount(minute=..., clicks=3)]
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from cachetools import LRUCache

from leaky_app.links.events import ClickEvent, ClickEvents

MINUTE = 60
HOUR_MINUTES = 60


@dataclass(frozen=True, slots=True)
class MinuteCount:
    minute: int  # the minute's start, seconds since the epoch
    clicks: int


class ClickActivity:
    def __init__(
        self, events: ClickEvents, every_seconds: float = 1.0, max_links: int = 10_000
    ) -> None:
        self.events = events
        self.every_seconds = every_seconds
        self._minutes: LRUCache[str, Counter[int]] = LRUCache(maxsize=max_links)
        self._counted = 0  # the id of the last event counted

    def fold(self, batch: list[ClickEvent]) -> None:
        """Count a batch of events, then acknowledge it."""
        for event in batch:
            if event.id <= self._counted:
                continue  # handed again after a restart: counted already
            minute = int(event.at // MINUTE) * MINUTE
            counts = self._minutes.get(event.code)
            if counts is None:
                counts = self._minutes[event.code] = Counter()
            counts[minute] += 1
            if len(counts) > HOUR_MINUTES:
                del counts[min(counts)]
            self._counted = event.id
        if batch:
            self.events.ack(self._counted)

    def of(self, code: str, now: float) -> list[MinuteCount]:
        """The link's clicks per minute in the hour up to ``now``, oldest first; minutes
        without a click left out."""
        counts = self._minutes.get(code)
        if counts is None:
            return []
        since = (int(now // MINUTE) - HOUR_MINUTES + 1) * MINUTE
        return [MinuteCount(m, n) for m, n in sorted(counts.items()) if m >= since]

    async def run(self) -> None:
        self.fold(self.events.unacked())
        while True:
            await asyncio.sleep(self.every_seconds)
            self.fold(self.events.take())
