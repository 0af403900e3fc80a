"""Event-loop lag and the callbacks that blocked the loop, with their location.

A heartbeat callback runs on the watched loop every ``interval``; its lateness is the lag. A
watchdog thread notices when the heartbeat stops, and while it is stopped it samples the loop
thread's stack: the innermost application frame of those samples is the blocking call's
location. This names the culprit with no asyncio debug mode (which slows every callback).

Usage::

    watch = LoopWatchdog(loop)
    watch.start()
    ...
    watch.report()   # {"lag": {...}, "stalls": [{"location": ..., "seconds": ..., ...}]}
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leaky_app.debug.endpoints import Endpoint
from leaky_app.debug.frames import FrameInfo, first_app_frame, stack_of

LAG_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Stall:
    started_wall: float
    seconds: float
    location: FrameInfo | None
    stack: list[FrameInfo]
    samples: int

    def to_json(self) -> dict[str, Any]:
        return {
            "started_at": self.started_wall,
            "seconds": round(self.seconds, 4),
            "location": self.location.to_json() if self.location else None,
            "stack": [str(f) for f in self.stack],
            "samples": self.samples,
        }


class LoopWatchdog:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        interval: float = 0.05,
        stall_threshold: float = 0.1,
        keep: int = 50,
    ) -> None:
        self.loop = loop
        self.interval = interval
        self.stall_threshold = stall_threshold
        self.lag_buckets = [0] * (len(LAG_BOUNDS) + 1)
        self.lag_max = 0.0
        self.stalls: collections.deque[Stall] = collections.deque(maxlen=keep)
        self._loop_thread: int | None = None
        self._last_beat = time.monotonic()
        self._due = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self.loop.call_soon_threadsafe(self._first_beat)
        self._thread = threading.Thread(target=self._watch, name="debug-loop-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._handle is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._handle.cancel)

    def _first_beat(self) -> None:
        self._loop_thread = threading.get_ident()
        self._due = self.loop.time() + self.interval
        self._last_beat = time.monotonic()
        self._handle = self.loop.call_at(self._due, self._beat)

    def _beat(self) -> None:
        lag = max(0.0, self.loop.time() - self._due)
        self.lag_buckets[bisect.bisect_left(LAG_BOUNDS, lag)] += 1
        self.lag_max = max(self.lag_max, lag)
        self._last_beat = time.monotonic()
        self._due = self.loop.time() + self.interval
        self._handle = self.loop.call_at(self._due, self._beat)

    def _watch(self) -> None:
        sample_every = min(0.02, self.interval / 2)
        limit = self.interval + self.stall_threshold
        samples: collections.Counter[tuple[FrameInfo, ...]] = collections.Counter()
        stall_started: float | None = None
        wait = sample_every
        while not self._stop.wait(wait):
            silent_for = time.monotonic() - self._last_beat
            # While the loop beats, sleep until a stall could first be seen (a handful of
            # wake-ups a second); in a stall, sample. Each wake-up takes the GIL from the
            # loop's thread: polling at 50 Hz cost a busy service measurable throughput.
            stalled = silent_for > limit
            wait = sample_every if stalled else max(limit - silent_for, sample_every)
            if stalled and self._loop_thread is not None:
                if stall_started is None:
                    stall_started = self._last_beat + self.interval
                frame = sys._current_frames().get(self._loop_thread)
                if frame is not None:
                    samples[tuple(stack_of(frame))] += 1
            elif stall_started is not None:
                self._record(stall_started, samples)
                samples = collections.Counter()
                stall_started = None

    def _record(self, started: float, samples: collections.Counter[tuple[FrameInfo, ...]]) -> None:
        seconds = max(0.0, self._last_beat - started)
        stack = list(samples.most_common(1)[0][0]) if samples else []
        self.stalls.append(
            Stall(
                started_wall=time.time() - (time.monotonic() - started),
                seconds=seconds,
                location=first_app_frame(stack),
                stack=stack,
                samples=sum(samples.values()),
            )
        )

    def quantile(self, q: float) -> float | None:
        total = sum(self.lag_buckets)
        if total == 0:
            return None
        seen = 0
        for i, n in enumerate(self.lag_buckets):
            seen += n
            if seen >= q * total:
                return LAG_BOUNDS[i] if i < len(LAG_BOUNDS) else self.lag_max
        return self.lag_max

    def report(self) -> dict[str, Any]:
        return {
            "interval_seconds": self.interval,
            "stall_threshold_seconds": self.stall_threshold,
            "lag": {
                "beats": sum(self.lag_buckets),
                "p50_seconds": self.quantile(0.5),
                "p99_seconds": self.quantile(0.99),
                "max_seconds": round(self.lag_max, 6),
                "buckets": {
                    **{str(b): n for b, n in zip(LAG_BOUNDS, self.lag_buckets, strict=False)},
                    "+Inf": self.lag_buckets[-1],
                },
            },
            "stalled_now_seconds": round(
                max(0.0, time.monotonic() - self._last_beat - self.interval), 4
            ),
            "stalls": [s.to_json() for s in reversed(self.stalls)],
        }


def loop_endpoints(watchdog: LoopWatchdog) -> list[Endpoint]:
    async def loop(request: Request) -> Response:
        return JSONResponse(watchdog.report())

    return [
        Endpoint("/debug/loop", ("GET",), "event-loop lag and the calls that blocked it", "", loop)
    ]
