"""tracemalloc views: top allocation sites, growth between snapshots, growth over a window.

Like pprof's ``heap`` and ``heap?seconds=N``. Tracing costs memory and CPU (roughly 2x on
allocation-heavy code), so it is off until started; a window starts it for its duration only.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leaky_app.debug.endpoints import Endpoint, choice_param, int_param, seconds_param
from leaky_app.debug.frames import FrameInfo, first_app_frame

Group = Literal["traceback", "lineno", "filename"]
_DEBUG_PACKAGE = os.path.dirname(os.path.realpath(__file__))
# The profiler must not report itself: tracemalloc's and this package's own allocations.
_EXCLUDE = (
    tracemalloc.Filter(False, tracemalloc.__file__),
    tracemalloc.Filter(False, os.path.join(_DEBUG_PACKAGE, "*")),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
    tracemalloc.Filter(False, "<unknown>"),
)


class NotTracing(RuntimeError):
    """tracemalloc is off; POST /debug/heap/start first."""


@dataclass(frozen=True)
class HeapStat:
    size: int
    count: int
    size_diff: int
    count_diff: int
    frames: list[FrameInfo]  # innermost first

    def to_json(self) -> dict[str, Any]:
        site = first_app_frame(self.frames)
        return {
            "site": site.to_json() if site else None,
            "size_bytes": self.size,
            "count": self.count,
            "size_diff_bytes": self.size_diff,
            "count_diff": self.count_diff,
            "traceback": [str(f) for f in self.frames],
        }


def _frames(traceback: tracemalloc.Traceback) -> list[FrameInfo]:
    # tracemalloc keeps most recent call last; we show innermost first. It stores no
    # function names, so the "function" field holds the file's basename and the line.
    return [
        FrameInfo(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}", f.filename, f.lineno)
        for f in reversed(list(traceback))
    ]


class HeapProfiler:
    def __init__(self, default_frames: int = 16) -> None:
        self.default_frames = default_frames
        self._previous: tracemalloc.Snapshot | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._stops_at: float | None = None

    @property
    def tracing(self) -> bool:
        return tracemalloc.is_tracing()

    def start(self, frames: int | None = None) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(frames or self.default_frames)

    def trace_for(self, seconds: float, frames: int | None = None) -> None:
        """Trace for ``seconds``, then stop by itself: tracemalloc costs a large share of
        throughput, so a forgotten ``start`` must not leave it on. Calling again extends it."""
        self.start(frames)
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(seconds, self.stop)
            self._timer.daemon = True
            self._stops_at = time.monotonic() + seconds
            self._timer.start()

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._stops_at = None
        tracemalloc.stop()
        self._previous = None

    def status(self) -> dict[str, Any]:
        current, peak = tracemalloc.get_traced_memory()
        stops_at = self._stops_at
        return {
            "tracing": tracemalloc.is_tracing(),
            "frames": tracemalloc.get_traceback_limit(),
            "traced_bytes": current,
            "peak_traced_bytes": peak,
            "overhead_bytes": tracemalloc.get_tracemalloc_memory(),
            "stops_in_seconds": None
            if stops_at is None
            else round(max(0.0, stops_at - time.monotonic()), 1),
        }

    def _snapshot(self) -> tracemalloc.Snapshot:
        if not tracemalloc.is_tracing():
            raise NotTracing("tracemalloc is not tracing: POST /debug/heap/start first")
        return tracemalloc.take_snapshot().filter_traces(_EXCLUDE)

    def top(self, limit: int = 20, group: Group = "traceback") -> list[HeapStat]:
        with self._lock:
            snap = self._snapshot()
            self._previous = snap
        return [
            HeapStat(s.size, s.count, 0, 0, _frames(s.traceback))
            for s in snap.statistics(group)[:limit]
        ]

    def diff(self, limit: int = 20, group: Group = "traceback") -> list[HeapStat]:
        """Growth since the previous snapshot taken by top() or diff(); ranks by bytes."""
        with self._lock:
            snap = self._snapshot()
            previous, self._previous = self._previous, snap
        if previous is None:
            return []
        return _compare(snap, previous, limit, group)

    def window(self, seconds: float, limit: int = 20, group: Group = "traceback") -> list[HeapStat]:
        """Growth over the next ``seconds`` (starts tracing for the window if it was off)."""
        started_here = not tracemalloc.is_tracing()
        self.start()
        try:
            before = self._snapshot()
            time.sleep(seconds)
            after = self._snapshot()
        finally:
            if started_here:
                tracemalloc.stop()
        return _compare(after, before, limit, group)


def _compare(
    new: tracemalloc.Snapshot, old: tracemalloc.Snapshot, limit: int, group: Group
) -> list[HeapStat]:
    stats = [s for s in new.compare_to(old, group) if s.size_diff > 0]
    stats.sort(key=lambda s: s.size_diff, reverse=True)
    return [
        HeapStat(s.size, s.count, s.size_diff, s.count_diff, _frames(s.traceback))
        for s in stats[:limit]
    ]


def heap_endpoints(heap: HeapProfiler, max_seconds: float) -> list[Endpoint]:
    """``/debug/heap``: tracemalloc's top sites, growth over a window, diff, start, stop."""

    async def top_or_window(request: Request) -> Response:
        limit = int_param(request, "limit", 20, 1, 1000)
        group = choice_param(request, "group", ["traceback", "lineno", "filename"])
        if "seconds" in request.query_params:
            seconds = seconds_param(request, max_seconds, 0, required=True)
            stats = await asyncio.to_thread(heap.window, seconds, limit, group)  # type: ignore[arg-type]
            return JSONResponse({"mode": "window", "seconds": seconds,
                                 "growth": [s.to_json() for s in stats]})  # fmt: skip
        stats = await asyncio.to_thread(heap.top, limit, group)  # type: ignore[arg-type]
        return JSONResponse({"mode": "top", **heap.status(),
                             "top": [s.to_json() for s in stats]})  # fmt: skip

    async def diff(request: Request) -> Response:
        limit = int_param(request, "limit", 20, 1, 1000)
        group = choice_param(request, "group", ["traceback", "lineno", "filename"])
        stats = await asyncio.to_thread(heap.diff, limit, group)  # type: ignore[arg-type]
        note = None if stats else "first snapshot taken; call again to see growth"
        return JSONResponse({"growth": [s.to_json() for s in stats], "note": note})

    async def start(request: Request) -> Response:
        frames = int_param(request, "frames", heap.default_frames, 1, 100)
        seconds = seconds_param(request, max_seconds, max_seconds, required=False)
        heap.trace_for(seconds, frames)
        return JSONResponse(heap.status())

    async def stop(request: Request) -> Response:
        heap.stop()
        return JSONResponse(heap.status())

    return [
        Endpoint("/debug/heap", ("GET",), "tracemalloc top sites, or growth over seconds=N",
                 "seconds, limit, group=traceback|lineno|filename", top_or_window,
                 expensive=True),
        Endpoint("/debug/heap/diff", ("GET",), "growth since the previous heap snapshot",
                 "limit, group", diff, expensive=True),
        Endpoint("/debug/heap/start", ("POST",), "start tracemalloc; it stops by itself after "
                 "seconds (at most the surface's window)", "frames, seconds", start),
        Endpoint("/debug/heap/stop", ("POST",), "stop tracemalloc, free its memory", "", stop),
    ]  # fmt: skip
