"""In-process stack sampler: a thread reads ``sys._current_frames()`` at a fixed rate.

It needs no ptrace, so it works where py-spy cannot attach (locked-down containers); the price
is that it samples only while it holds the GIL, so a thread stuck in C code holding the GIL is
seen late. Output: collapsed stacks (flamegraph.pl / speedscope input) and speedscope JSON.
"""

from __future__ import annotations

import asyncio
import collections
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from leaky_app.debug.endpoints import Endpoint, choice_param, int_param, seconds_param
from leaky_app.debug.frames import FrameInfo, stack_of


@dataclass
class Profile:
    interval: float
    duration: float = 0.0
    samples: int = 0
    # thread name + frames outermost first -> sample count
    stacks: collections.Counter[tuple[str, tuple[FrameInfo, ...]]] = field(
        default_factory=collections.Counter
    )

    def collapsed(self) -> str:
        lines = []
        for (thread, frames), count in self.stacks.most_common():
            names = ";".join(f"{f.function} ({f.file}:{f.line})" for f in frames)
            lines.append(f"{thread};{names} {count}")
        return "\n".join(lines) + ("\n" if lines else "")

    def top_functions(self, limit: int = 20) -> list[dict[str, Any]]:
        """Self and total share of samples per function (innermost frame = self)."""
        self_counts: collections.Counter[FrameInfo] = collections.Counter()
        total_counts: collections.Counter[FrameInfo] = collections.Counter()
        for (_, frames), count in self.stacks.items():
            if not frames:
                continue
            self_counts[frames[-1]] += count
            for f in set(frames):
                total_counts[f] += count
        total = max(1, sum(self.stacks.values()))
        return [
            {
                **f.to_json(),
                "self_pct": round(100 * self_counts[f] / total, 2),
                "total_pct": round(100 * n / total, 2),
            }
            for f, n in sorted(total_counts.items(), key=lambda kv: -self_counts[kv[0]])[:limit]
        ]

    def speedscope(self, name: str = "in-process sampler") -> dict[str, Any]:
        index: dict[FrameInfo, int] = {}
        frames_json: list[dict[str, Any]] = []
        samples: list[list[int]] = []
        weights: list[float] = []
        for (_, frames), count in self.stacks.items():
            ids = []
            for f in frames:
                if f not in index:
                    index[f] = len(frames_json)
                    frames_json.append({"name": f.function, "file": f.file, "line": f.line})
                ids.append(index[f])
            samples.append(ids)
            weights.append(count * self.interval)
        return {
            "$schema": "https://www.speedscope.app/file-format-schema.json",
            "shared": {"frames": frames_json},
            "profiles": [
                {
                    "type": "sampled",
                    "name": name,
                    "unit": "seconds",
                    "startValue": 0,
                    "endValue": round(self.duration, 6),
                    "samples": samples,
                    "weights": weights,
                }
            ],
            "name": name,
            "exporter": "leaky_app.debug",
        }


def sample(seconds: float, hz: int = 100, idle: bool = False) -> Profile:
    """Sample every thread but this one for ``seconds``. ``idle=False`` drops threads parked
    in a wait (their innermost frame is a lock/selector wait), as py-spy does by default."""
    interval = 1.0 / hz
    me = threading.get_ident()
    names = {t.ident: t.name for t in threading.enumerate()}
    profile = Profile(interval=interval)
    started = time.monotonic()
    deadline = started + seconds
    next_at = started
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        for ident, frame in sys._current_frames().items():
            if ident == me:
                continue
            frames = stack_of(frame)
            if not idle and frames and _parked(frames[0]):
                continue
            profile.stacks[(names.get(ident, str(ident)), tuple(reversed(frames)))] += 1
        profile.samples += 1
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    profile.duration = time.monotonic() - started
    return profile


_PARKED = {"wait", "select", "poll", "_worker", "accept", "get", "sleep", "_wait_for_tstate_lock"}


def _parked(innermost: FrameInfo) -> bool:
    # Heuristic from the frame alone: waits in threading/selectors/queue are idle threads.
    name = innermost.function.rsplit(".", 1)[-1]
    return name in _PARKED and (
        "threading.py" in innermost.file
        or "selectors.py" in innermost.file
        or "queue.py" in innermost.file
        or "concurrent/futures" in innermost.file
    )


def profile_endpoints(max_seconds: float) -> list[Endpoint]:
    """``/debug/profile``: the in-process sampler over ``seconds`` (at most ``max_seconds``)."""

    async def profile(request: Request) -> Response:
        seconds = seconds_param(request, max_seconds, 5.0, required=False)
        hz = int_param(request, "hz", 100, 1, 1000)
        fmt = choice_param(request, "format", ["json", "collapsed", "speedscope"])
        result = await asyncio.to_thread(sample, seconds, hz)
        if fmt == "collapsed":
            return PlainTextResponse(result.collapsed())
        if fmt == "speedscope":
            return JSONResponse(result.speedscope())
        return JSONResponse(
            {
                "seconds": round(result.duration, 3),
                "samples": result.samples,
                "hz": hz,
                "top": result.top_functions(int_param(request, "limit", 20, 1, 1000)),
                "collapsed": result.collapsed(),
            }
        )

    return [
        Endpoint("/debug/profile", ("GET",), "in-process stack sampler (no ptrace needed)",
                 "seconds, hz, format=json|collapsed|speedscope, limit", profile, expensive=True),
    ]  # fmt: skip
