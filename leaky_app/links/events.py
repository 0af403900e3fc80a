"""Click events for subscribers (analytics, webhooks), each delivery acknowledged."""

from __future__ import annotations

import asyncio
import itertools


class ClickEventPublisher:
    """``subscribers`` > 0 turns publishing on; each event waits for every subscriber's ack."""

    def __init__(self, max_inflight: int = 50_000) -> None:
        self.subscribers = 0
        self.max_inflight = max_inflight
        self._inflight: set[asyncio.Task[None]] = set()
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._ids = itertools.count(1)

    def publish(self, code: str) -> None:
        for _ in range(self.subscribers):
            if len(self._inflight) >= self.max_inflight:
                return
            event_id = next(self._ids)
            task = asyncio.create_task(self._deliver(event_id, code), name=f"click-event-{code}")
            self._inflight.add(task)  # kept so it is not garbage-collected mid-flight...

    async def _deliver(self, event_id: int, code: str) -> None:
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks[event_id] = ack
        await ack  # ...but no subscriber ever acks, and nothing removes finished tasks
        self._acks.pop(event_id, None)

    def close(self) -> None:
        """Stop publishing and cancel every delivery still waiting."""
        self.subscribers = 0
        for task in self._inflight:
            task.cancel()
        self._inflight.clear()
        self._acks.clear()

    def __len__(self) -> int:
        return len(self._inflight)
