"""The GOGC counterpart: collection counts, pause histogram per generation, live tuning.

:class:`GCPauses` measures every collection through ``gc.callbacks``; the rest are thin,
validated wrappers over :mod:`gc` so an HTTP caller cannot pass anything odd.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import gc
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leaky_app.debug.allocator import allocator_state
from leaky_app.debug.endpoints import BadParam, Endpoint, choice_param, int_param
from leaky_app.debug.frames import FrameInfo, from_frame, is_library

# Upper bounds in seconds; the last bucket is everything above 2.5 s.
BOUNDS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
MAX_THRESHOLD = 10_000_000
# The older-generation pauses kept one by one (time, generation, seconds), newest last: exact
# quantiles over a window, where the histogram only bounds them by its buckets.
RECENT_PAUSES = 2000
MAX_TRIGGER_SITES = 200
# A constructor allocates for whoever builds the object: blame the builder.
_CONSTRUCTORS = frozenset({"__init__", "__new__", "__post_init__"})


@dataclass(slots=True)
class TriggerSite:
    """Application code that was allocating when older-generation collections started."""

    frame: FrameInfo
    collections: int = 0
    pause_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            **self.frame.to_json(),
            "collections": self.collections,
            "pause_seconds": round(self.pause_seconds, 6),
        }


class GCPauses:
    def __init__(self) -> None:
        self.buckets = [[0] * (len(BOUNDS) + 1) for _ in range(3)]
        self.total = [0.0, 0.0, 0.0]
        self.max = [0.0, 0.0, 0.0]
        self.collected = [0, 0, 0]
        self._started = 0.0
        self._listeners: list[Callable[[int, float], None]] = []
        self.triggers: dict[types.CodeType, TriggerSite] = {}
        self._trigger: types.CodeType | None = None
        self._is_app: dict[types.CodeType, bool] = {}
        self.recent: collections.deque[tuple[float, int, float]] = collections.deque(
            maxlen=RECENT_PAUSES
        )

    def add_listener(self, listener: Callable[[int, float], None]) -> None:
        """``listener(generation, seconds)`` after each collection: one gc hook serves all."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[int, float], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            # Generation 0 runs every few hundred allocations; only the older, slower
            # collections are worth a stack walk.
            self._trigger = self._trigger_site() if info["generation"] >= 1 else None
            return
        if not self._started:
            return
        pause = time.perf_counter() - self._started
        self._started = 0.0
        gen = info["generation"]
        self.buckets[gen][bisect.bisect_left(BOUNDS, pause)] += 1
        self.total[gen] += pause
        self.max[gen] = max(self.max[gen], pause)
        self.collected[gen] += info.get("collected", 0)
        if gen >= 1:
            self.recent.append((time.time(), gen, pause))
        if self._trigger is not None:
            site = self.triggers.get(self._trigger)
            if site is not None:
                site.collections += 1
                site.pause_seconds += pause
            self._trigger = None
        for listener in self._listeners:
            listener(gen, pause)

    def _trigger_site(self) -> types.CodeType | None:
        try:
            frame: types.FrameType | None = sys._getframe(2)
        except ValueError:  # collection started with no Python caller
            return None
        while frame is not None:
            code = frame.f_code
            is_app = self._is_app.get(code)
            if is_app is None:
                is_app = not is_library(code.co_filename) and code.co_name not in _CONSTRUCTORS
                if len(self._is_app) < 10_000:
                    self._is_app[code] = is_app
            if is_app:
                if code not in self.triggers and len(self.triggers) < MAX_TRIGGER_SITES:
                    self.triggers[code] = TriggerSite(from_frame(frame))
                return code
            frame = frame.f_back
        return None

    def top_triggers(self, limit: int = 10) -> list[TriggerSite]:
        return sorted(self.triggers.values(), key=lambda t: -t.pause_seconds)[:limit]

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def quantile(self, gen: int, q: float) -> float | None:
        """Upper bound of the bucket holding quantile ``q`` (as Prometheus would estimate)."""
        counts = self.buckets[gen]
        total = sum(counts)
        if total == 0:
            return None
        rank = q * total
        seen = 0
        for i, n in enumerate(counts):
            seen += n
            if seen >= rank:
                return BOUNDS[i] if i < len(BOUNDS) else self.max[gen]
        return self.max[gen]

    def to_json(self) -> dict[str, Any]:
        out = {}
        for gen in range(3):
            count = sum(self.buckets[gen])
            out[str(gen)] = {
                "count": count,
                "total_seconds": round(self.total[gen], 6),
                "max_seconds": round(self.max[gen], 6),
                "p50_seconds": self.quantile(gen, 0.5),
                "p99_seconds": self.quantile(gen, 0.99),
                "objects_collected": self.collected[gen],
                "buckets": {
                    **{str(b): n for b, n in zip(BOUNDS, self.buckets[gen], strict=False)},
                    "+Inf": self.buckets[gen][-1],
                },
            }
        return out


def gc_state(pauses: GCPauses) -> dict[str, Any]:
    return {
        "enabled": gc.isenabled(),
        "threshold": list(gc.get_threshold()),
        "count": list(gc.get_count()),
        "frozen_objects": gc.get_freeze_count(),
        "allocator": allocator_state(),
        "garbage": len(gc.garbage),
        "stats": gc.get_stats(),
        "pauses": pauses.to_json(),
        "triggers": [t.to_json() for t in pauses.top_triggers()],
        "recent_pauses": [
            {"at": round(at, 6), "generation": gen, "seconds": round(seconds, 6)}
            for at, gen, seconds in list(pauses.recent)
        ],
    }


def set_threshold(gen0: int, gen1: int, gen2: int) -> tuple[int, int, int]:
    for value in (gen0, gen1, gen2):
        if not 0 <= value <= MAX_THRESHOLD:
            raise ValueError(f"thresholds must be between 0 and {MAX_THRESHOLD}")
    previous = gc.get_threshold()
    gc.set_threshold(gen0, gen1, gen2)
    return previous


def collect(generation: int) -> dict[str, Any]:
    if generation not in (0, 1, 2):
        raise ValueError("generation must be 0, 1 or 2")
    started = time.perf_counter()
    unreachable = gc.collect(generation)
    return {"generation": generation, "unreachable": unreachable,
            "seconds": round(time.perf_counter() - started, 6)}  # fmt: skip


def freeze() -> int:
    """Move every tracked object to the permanent generation (after warm-up, seed Q379)."""
    gc.freeze()
    return gc.get_freeze_count()


def unfreeze() -> int:
    gc.unfreeze()
    return gc.get_freeze_count()


def gc_endpoints(pauses: GCPauses) -> list[Endpoint]:
    """``/debug/gc``: collections and pauses, and the live knobs (thresholds, freeze)."""

    async def state(request: Request) -> Response:
        return JSONResponse(gc_state(pauses))

    async def threshold(request: Request) -> Response:
        gen0 = int_param(request, "gen0", 700, 0, MAX_THRESHOLD)
        disable = choice_param(request, "disable", ("false", "true")) == "true"
        if gen0 == 0 and not disable:
            # gen0=0 is CPython's switch for "no automatic collection": cycles then pile up
            # until someone collects by hand. Never by a slip of the finger.
            raise BadParam("gen0=0 turns the garbage collector off; add disable=true to mean it")
        if disable and gen0 != 0:
            raise BadParam("disable=true goes with gen0=0 (that is what turns the collector off)")
        previous = set_threshold(
            gen0,
            int_param(request, "gen1", 10, 0, MAX_THRESHOLD),
            int_param(request, "gen2", 10, 0, MAX_THRESHOLD),
        )
        body: dict[str, Any] = {"previous": list(previous), "threshold": list(gc.get_threshold())}
        if gen0 == 0:
            body["warning"] = "automatic collection is off: set gen0 again to turn it back on"
        return JSONResponse(body)

    async def freeze_now(request: Request) -> Response:
        return JSONResponse({"frozen_objects": await asyncio.to_thread(freeze)})

    async def unfreeze_now(request: Request) -> Response:
        return JSONResponse({"frozen_objects": unfreeze()})

    async def collect_now(request: Request) -> Response:
        generation = int_param(request, "generation", 2, 0, 2)
        return JSONResponse(await asyncio.to_thread(collect, generation))

    return [
        Endpoint("/debug/gc", ("GET",), "collections, pauses per generation, thresholds", "",
                 state),
        Endpoint("/debug/gc/threshold", ("PUT",), "set gc thresholds live (the GOGC knob)",
                 "gen0, gen1, gen2, disable (true with gen0=0: the collector off)", threshold),
        Endpoint("/debug/gc/freeze", ("POST",), "gc.freeze(): move every object to the "
                 "permanent generation",
                 "", freeze_now),
        Endpoint("/debug/gc/unfreeze", ("POST",), "gc.unfreeze(): every frozen object "
                 "back in the oldest generation, the start-up freeze too", "", unfreeze_now),
        Endpoint("/debug/gc/collect", ("POST",), "run a collection and time it", "generation",
                 collect_now, expensive=True),
    ]  # fmt: skip
