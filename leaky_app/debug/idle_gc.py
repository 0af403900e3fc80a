"""Garbage collection off the request path: the collector switched off (``gc.disable()``),
young collections run when no request is in flight, and full ones only when the process's
resident memory passes a ceiling (seed Q379; the approach Instagram described for its Django
fleet, and the nearest Python has to Go's ``SetMemoryLimit``).

The middleware counts requests in and out on :class:`RequestActivity`; the collector's own
thread looks every few milliseconds and collects between requests. A full collection still
stops the process while it walks the heap, so the ceiling trades memory for fewer of them.

Usage::

    activity = RequestActivity()                 # handed to TelemetryMiddleware
    idle = IdleCollector(activity)
    idle.start(ceiling_bytes=600 * 2**20)        # gc.disable(); collections between requests
    idle.stop()                                  # gc.enable(); the thresholds as they were
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from dataclasses import dataclass, field

import psutil
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leaky_app.debug.endpoints import BadParam, Endpoint, int_param

POLL_S = 0.005
QUIET_S = 0.002  # this long without a request starting or ending counts as idle


@dataclass
class RequestActivity:
    """Requests in flight, and when that last changed (written by the middleware on the event
    loop, read by the collector's thread; an int and a float, each written whole)."""

    in_flight: int = 0
    changed_at: float = field(default_factory=time.monotonic)

    def started(self) -> None:
        self.in_flight += 1
        self.changed_at = time.monotonic()

    def finished(self) -> None:
        self.in_flight -= 1
        self.changed_at = time.monotonic()

    def idle(self) -> bool:
        return self.in_flight == 0 and time.monotonic() - self.changed_at >= QUIET_S


@dataclass
class IdleCollectorState:
    running: bool
    ceiling_bytes: int
    young_collections: int  # between requests
    full_collections: int  # at the ceiling

    def to_json(self) -> dict[str, object]:
        return self.__dict__.copy()


class IdleCollector:
    def __init__(self, activity: RequestActivity) -> None:
        self.activity = activity
        self.ceiling_bytes = 0
        self.young = 0
        self.full = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._was_enabled = True

    def start(self, ceiling_bytes: int) -> IdleCollectorState:
        """Collect between requests from now on, fully only above ``ceiling_bytes`` RSS."""
        self.stop()
        self.ceiling_bytes = ceiling_bytes
        self.young = self.full = 0
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="idle-gc", daemon=True)
        self._thread.start()
        return self.state()

    def stop(self) -> IdleCollectorState:
        """Automatic collection back on, as it was before :meth:`start`."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None
            if self._was_enabled:
                gc.enable()
        return self.state()

    def state(self) -> IdleCollectorState:
        return IdleCollectorState(self._thread is not None, self.ceiling_bytes, self.young,
                                  self.full)  # fmt: skip

    def _run(self) -> None:
        process = psutil.Process()
        gen0, gen1, _gen2 = gc.get_threshold()
        while not self._stop.wait(POLL_S):
            if process.memory_info().rss > self.ceiling_bytes:
                gc.collect(2)  # the ceiling: a full collection now, in flight or not
                self.full += 1
                continue
            if not self.activity.idle():
                continue
            count0, count1, _count2 = gc.get_count()
            if count0 > gen0:
                # The young generations between requests, as the automatic collector would
                # run them; the oldest waits for the ceiling.
                gc.collect(1 if count1 > gen1 else 0)
                self.young += 1


MAX_CEILING_MB = 64 * 1024


def idle_gc_endpoints(idle: IdleCollector) -> list[Endpoint]:
    """``/debug/gc/idle``: collections between requests, full ones only above a memory
    ceiling (the collector off meanwhile); DELETE puts automatic collection back."""

    async def start(request: Request) -> Response:
        ceiling = int_param(request, "ceiling_mb", 0, 1, MAX_CEILING_MB)
        if ceiling == 0:
            raise BadParam("ceiling_mb is required: full collections run only above it")
        state = await asyncio.to_thread(idle.start, ceiling * 2**20)
        return JSONResponse(state.to_json())

    async def stop(request: Request) -> Response:
        return JSONResponse((await asyncio.to_thread(idle.stop)).to_json())

    async def show(request: Request) -> Response:
        return JSONResponse(idle.state().to_json())

    return [
        Endpoint("/debug/gc/idle", ("GET",), "the idle collector: running, its ceiling, what "
                 "it collected", "", show),
        Endpoint("/debug/gc/idle", ("PUT",), "gc.disable(), then young collections between "
                 "requests and full ones only above ceiling_mb of RSS", "ceiling_mb", start),
        Endpoint("/debug/gc/idle", ("DELETE",), "automatic collection back on", "", stop),
    ]  # fmt: skip
