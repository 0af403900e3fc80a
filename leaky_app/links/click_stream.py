"""Live click events for websocket subscribers (seed Q375).

Each subscriber owns a bounded queue. A click is encoded once and offered to every matching
subscriber without waiting: a subscriber whose queue is full is a slow consumer and is
dropped (its connection closed with 1008), never buffered for. So one stuck client costs at
most ``queue_size`` events of memory and never slows the redirect path or the other clients.
The number of subscribers is capped too; over the cap a new one is refused (1013).

Who may listen: anyone, to one link's clicks (``code``; a link is public, and its stream
carries only its own URL); only a holder of the observer token (the debug surface's), to every
link's. Each remote address may hold ``max_per_client`` anonymous subscriptions (1013 beyond);
a token holder is held only to the global cap. Refusals are counted by reason.

Usage::

    stream = ClickStream(max_subscribers=20_000, queue_size=64, metrics=metrics.ws)
    stream.token = "..."                                       # the observer token
    sub = stream.subscribe("abc", client="203.0.113.9")        # raises StreamRefused
    sub = stream.subscribe(None, client="::1", authorization="Bearer ...")
    stream.publish("abc", "https://example.org", time.time())  # from the redirect path
    batch = await sub.next()     # the events waiting, oldest first; [] once it is closed
    sub.close()                  # the client left
    stream.unsubscribe(sub)

A writer with no task of its own (the stream port's protocol, :mod:`leaky_app.stream_server`)
sets ``sub.on_ready`` instead of awaiting ``next()``: it is called when events arrive or the
subscriber is closed, and ``sub.take()`` hands over what is waiting.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections import Counter
from collections.abc import Callable

from leaky_app.links.stream_backlog import EVENT_BYTES, Backlog, EventList, PackedEvents
from leaky_app.metrics import WebsocketMetrics

POLICY_VIOLATION, TRY_AGAIN_LATER = 1008, 1013  # websocket close codes (RFC 6455, IANA)


class StreamRefused(Exception):
    """A subscription refused; the connection closes with ``close_code`` and the message."""

    close_code = TRY_AGAIN_LATER
    reason = ""  # the refusals metric's label


class StreamFull(StreamRefused):
    """``max_subscribers`` are connected already."""

    reason = "full"


class ClientLimit(StreamRefused):
    """This address holds ``max_per_client`` anonymous subscriptions already."""

    reason = "per_client"


class TokenRequired(StreamRefused):
    """The all-links stream without the observer token."""

    close_code = POLICY_VIOLATION
    reason = "token_required"


class Subscriber:
    """One connection's bounded backlog and the one waiter the connection's writer parks on.

    Written by hand rather than an ``asyncio.Queue``: a Queue holds four deques and an Event
    (about 3 KiB before any event), and there is one of these per idle connection, the number
    the websocket bench measures. Here an idle subscriber is a few small objects.
    """

    __slots__ = ("_waiter", "backlog", "client", "closed", "code", "limit", "on_ready", "slow")

    def __init__(
        self,
        code: str | None,
        limit: int,
        client: str | None = None,
        backlog: Backlog | None = None,
    ) -> None:
        self.code = code  # only this link's clicks, or all when None
        self.limit = limit
        self.client = client  # the anonymous subscriber's address; None: a token holder
        self.slow = False  # dropped for falling ``limit`` events behind
        self.closed = False
        self.backlog: Backlog = EventList() if backlog is None else backlog
        self._waiter: asyncio.Future[None] | None = None
        self.on_ready: Callable[[], None] | None = None  # a push writer's wake-up, see above

    def offer(self, text: str) -> bool:
        """Add an event; False (and nothing added) when ``limit`` are already waiting."""
        if len(self.backlog) >= self.limit:
            return False
        self.backlog.append(text)
        self._wake()
        return True

    def close(self, slow: bool = False) -> None:
        self.closed = True
        self.slow = self.slow or slow
        self.backlog.clear()
        self._wake()

    async def next(self) -> list[str]:
        """Wait for events; every waiting one, oldest first, or ``[]`` once closed."""
        while not len(self.backlog) and not self.closed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.take()

    def take(self) -> list[str]:
        """Every waiting event, oldest first, without waiting."""
        return self.backlog.drain()

    def _wake(self) -> None:
        if self.on_ready is not None:
            self.on_ready()
        elif self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class ClickStream:
    def __init__(
        self,
        max_subscribers: int,
        queue_size: int,
        metrics: WebsocketMetrics,
        max_per_client: int = 20,
    ) -> None:
        self.max_subscribers = max_subscribers
        self.max_per_client = max_per_client
        self.queue_size = queue_size
        self.metrics = metrics
        self.token: str | None = None  # the observer token; None: nobody gets every link's
        self._subscribers: set[Subscriber] = set()
        self._per_client: Counter[str] = Counter()
        metrics.clients.set_function(lambda: len(self._subscribers))
        # How new subscribers hold their backlog (leaky_app.links.stream_backlog): "list", or
        # "packed" for as many as max_packed_bytes of buffers hold; see use_backlog.
        self.backlog = "list"
        self.max_packed_bytes = 0
        self._packed = 0  # subscribers holding PackedEvents

    def __len__(self) -> int:
        return len(self._subscribers)

    def _holds_token(self, authorization: str | None) -> bool:
        if self.token is None or authorization is None:
            return False
        return hmac.compare_digest(authorization.encode(), f"Bearer {self.token}".encode())

    def _refuse(self, refusal: StreamRefused) -> StreamRefused:
        self.metrics.refused.labels(reason=refusal.reason).inc()
        return refusal

    def subscribe(
        self, code: str | None, client: str = "unknown", authorization: str | None = None
    ) -> Subscriber:
        """A subscription for ``client`` (its address), or :class:`StreamRefused`;
        ``authorization`` is the request's header, ``Bearer <observer token>`` or None."""
        trusted = self._holds_token(authorization)
        if code is None and not trusted:
            raise self._refuse(TokenRequired(
                "every link's clicks need 'Authorization: Bearer <observer token>';"
                " ?code=CODE streams one link's clicks to anyone"
            ))  # fmt: skip
        if len(self._subscribers) >= self.max_subscribers:
            raise self._refuse(
                StreamFull(f"{self.max_subscribers} live subscribers already; try again later")
            )
        if not trusted and self._per_client[client] >= self.max_per_client:
            raise self._refuse(ClientLimit(
                f"{self.max_per_client} streams from this address already; close one first"
            ))  # fmt: skip
        sub = Subscriber(code, self.queue_size, None if trusted else client, self._new_backlog())
        if sub.client is not None:
            self._per_client[client] += 1
        self._subscribers.add(sub)
        return sub

    def _new_backlog(self) -> Backlog:
        if self.backlog == "packed" and (self._packed + 1) * self._packed_size <= (
            self.max_packed_bytes
        ):
            self._packed += 1
            return PackedEvents(self.queue_size)
        return EventList()

    @property
    def _packed_size(self) -> int:
        return self.queue_size * EVENT_BYTES

    def use_backlog(self, kind: str) -> None:
        """``"list"`` or ``"packed"``: how subscribers from now on hold their backlog. Back to
        ``"list"``, every packed backlog is moved into a list now, its events kept."""
        if kind not in {"list", "packed"}:
            raise ValueError(f"unknown backlog {kind!r}; choose list or packed")
        self.backlog = kind
        if kind == "list":
            for sub in self._subscribers:
                if isinstance(sub.backlog, PackedEvents):
                    waiting = sub.backlog.drain()
                    sub.backlog = EventList()
                    for text in waiting:
                        sub.backlog.append(text)
            self._packed = 0

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub in self._subscribers:
            self._forget(sub)

    def _forget(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)
        if sub.client is not None:
            self._per_client[sub.client] -= 1
            if not self._per_client[sub.client]:
                del self._per_client[sub.client]  # bounded by the live subscribers
        if isinstance(sub.backlog, PackedEvents):
            self._packed -= 1

    def publish(self, code: str, url: str, at: float) -> None:
        if not self._subscribers:
            return  # the redirect path's usual case: no JSON built
        text = json.dumps({"code": code, "url": url, "at": at})
        slow = [
            sub
            for sub in self._subscribers
            if (sub.code is None or sub.code == code) and not sub.offer(text)
        ]
        for sub in slow:
            self._forget(sub)
            self.metrics.dropped_slow.inc()
            sub.close(slow=True)
