"""Click events: the redirect publishes each click; a consumer takes them in batches and
acknowledges each batch by the id of its last event, cumulatively (as Kafka commits an
offset, or AMQP acks with ``multiple=True``). Events not yet acknowledged are kept, and a
consumer that starts again is handed them first (at least once; it skips ids it has seen).

How the publisher keeps the events until they are acknowledged, two ways with the same
deliveries (a test checks it over random clicks, batches and restarts):

* :class:`AckWindow` (the default): the unacknowledged events in order; an acknowledgement
  drops every event up to its id.
* :class:`AckTasks`: each event's delivery is a task that waits for the event's
  acknowledgement, then is done.

Usage::

    events = ClickEvents()
    events.publish("abc", time.time())          # from the redirect path
    batch = events.take()                       # the consumer: what arrived, oldest first
    events.ack(batch[-1].id)                    # everything up to it is processed
    events.unacked()                            # [] now; what a restarted consumer gets
    events.use_delivery("tasks")                # or "window"
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ClickEvent:
    id: int  # 1, 2, 3, ... in publishing order
    code: str
    at: float  # the click's time, seconds since the epoch


Arrive = Callable[[ClickEvent], None]


class Delivery(Protocol):
    """What the publisher keeps of each event until the consumer acknowledges it."""

    def send(self, event: ClickEvent, arrive: Arrive) -> None: ...

    def ack(self, upto: int) -> None: ...

    def unacked(self) -> list[ClickEvent]: ...

    def close(self) -> None: ...


class AckWindow:
    """The unacknowledged events, oldest first, at most ``max_unacked`` (the oldest dropped
    beyond: a consumer that far behind gets the newest again, not every one)."""

    def __init__(self, max_unacked: int = 50_000) -> None:
        self._window: deque[ClickEvent] = deque(maxlen=max_unacked)

    def send(self, event: ClickEvent, arrive: Arrive) -> None:
        self._window.append(event)
        arrive(event)

    def ack(self, upto: int) -> None:
        window = self._window
        while window and window[0].id <= upto:
            window.popleft()

    def unacked(self) -> list[ClickEvent]:
        return list(self._window)

    def close(self) -> None:
        self._window.clear()


class AckTasks:
    """A task per event, waiting for its acknowledgement; at most ``max_inflight`` wait
    (past that an event is delivered without waiting for its acknowledgement)."""

    def __init__(self, max_inflight: int = 50_000) -> None:
        self.max_inflight = max_inflight
        self._waiting: dict[int, tuple[ClickEvent, asyncio.Future[None]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, event: ClickEvent, arrive: Arrive) -> None:
        arrive(event)
        if len(self._tasks) >= self.max_inflight:
            return
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[event.id] = (event, acked)
        task = asyncio.create_task(self._delivered(event.id, acked), name="click-event")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _delivered(self, event_id: int, acked: asyncio.Future[None]) -> None:
        try:
            await acked
        finally:
            self._waiting.pop(event_id, None)

    def ack(self, upto: int) -> None:
        waiting = self._waiting.get(upto)
        if waiting is not None and not waiting[1].done():
            waiting[1].set_result(None)

    def unacked(self) -> list[ClickEvent]:
        return [event for event, _ in self._waiting.values()]

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self._waiting.clear()


class ClickEvents:
    """The publisher of click events, and the inbox its consumer takes them from."""

    def __init__(self, max_unacked: int = 50_000, max_tasks: int = 50_000) -> None:
        self.max_unacked = max_unacked  # AckWindow's bound
        self.max_tasks = max_tasks  # AckTasks' bound
        self.delivery: Delivery = AckWindow(max_unacked)
        self._ids = itertools.count(1)
        self._inbox: list[ClickEvent] = []

    def publish(self, code: str, at: float) -> None:
        self.delivery.send(ClickEvent(next(self._ids), code, at), self._inbox.append)

    def take(self) -> list[ClickEvent]:
        """Every event arrived since the last take, oldest first."""
        batch, self._inbox = self._inbox, []
        return batch

    def ack(self, upto: int) -> None:
        """The consumer has processed every event up to id ``upto``."""
        self.delivery.ack(upto)

    def unacked(self) -> list[ClickEvent]:
        """The events published and not yet acknowledged, oldest first."""
        return sorted(self.delivery.unacked(), key=lambda event: event.id)

    def use_delivery(self, kind: str) -> None:
        """``"window"`` or ``"tasks"``: how events are kept until acknowledged, from now on.
        The events waiting are kept across the change."""
        if kind not in {"window", "tasks"}:
            raise ValueError(f"unknown delivery {kind!r}; choose window or tasks")
        waiting = self.unacked()
        self.delivery.close()
        if kind == "tasks":
            self.delivery = AckTasks(self.max_tasks)
        else:
            self.delivery = AckWindow(self.max_unacked)
        for event in waiting:
            self.delivery.send(event, lambda _: None)  # arrived already
