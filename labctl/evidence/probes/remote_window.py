"""The code ``labctl --inject`` runs inside another Python process: one evidence window.

This file is not imported by labctl. :mod:`labctl.evidence.probes.injection` copies it next to
the result it asks for and has the target's main thread ``exec`` it (through
``Py_AddPendingCall``, set by a debugger, or ``sys.remote_exec`` on 3.14), with ``_labctl``
in its globals: ``{"out": path, "seconds": float, "stale_after": epoch seconds, "buffer":
address, "size": bytes}``. So it imports only the standard library, and nothing that the target
has not imported already (asyncio is used only if the target uses it).

In ``seconds`` it counts the target's asyncio tasks at both ends, grouped by the coroutine
and the line where each is suspended (what ``python -m asyncio pstree`` shows on 3.14),
times every collection through ``gc.callbacks``, and beats on the event loop to time its
stalls (a watchdog thread samples the loop thread's stack while a beat is late). At the end
it writes one JSON file (mode 0600), in the shapes of the lab service's ``/debug/tasks``,
``/debug/gc`` and ``/debug/loop``, and removes everything it added: its gc callback, its
timer and its thread end, it keeps no reference to the target's objects, and it frees the
page the debugger wrote its one line into. Started after ``stale_after`` (the target ran no
Python code in time and labctl gave up), it only frees that page.

The measuring is written here again rather than shared with ``leaky_app.debug`` because the
two live in different processes, and this one may run under any interpreter.
"""

from __future__ import annotations

import bisect
import collections
import gc
import json
import os
import re
import sys
import threading
import time
import types
import weakref
from typing import Any

# labctl's rule for application code (labctl/records/location.py): by path, as a stranger
# reads it. tests/test_frame_rule.py keeps the copies the same.
LIBRARY_PATH = re.compile(r"(/lib/python\d+\.\d+/|/site-packages/|/dist-packages/|^<)")
PAUSE_BOUNDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1.0, 2.5)  # fmt: skip
LAG_BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BEAT_SECONDS = 0.05
STALL_SECONDS = 0.1  # a beat this late (beyond its interval) is a stall
MAX_SITES = 200
MAX_AWAIT_DEPTH = 64


def _is_application(file: str) -> bool:
    return not LIBRARY_PATH.search(file) and file != __file__


def _frame_text(frame: types.FrameType) -> str:
    code = frame.f_code
    return f"{getattr(code, 'co_qualname', code.co_name)} ({code.co_filename}:{frame.f_lineno})"


def _stack(frame: types.FrameType | None) -> list[str]:
    frames: list[str] = []
    while frame is not None and len(frames) < MAX_AWAIT_DEPTH:
        frames.append(_frame_text(frame))
        frame = frame.f_back
    return frames


def _first_application(frames: list[str]) -> dict[str, Any] | None:
    for text in frames:
        match = re.match(r"^(.*) \((.*):(\d+)\)$", text)
        if match and _is_application(match[2]):
            return {"function": match[1], "file": match[2], "line": int(match[3])}
    return None


class Tasks:
    """The target's live asyncio tasks, grouped by where each is suspended."""

    def __init__(self) -> None:
        self.asyncio = sys.modules.get("asyncio")
        self.first_seen: weakref.WeakSet[Any] = weakref.WeakSet()

    def live(self) -> list[Any]:
        if self.asyncio is None:
            return []
        tasks = self.asyncio.tasks
        registries = [getattr(tasks, name, ()) for name in ("_all_tasks", "_scheduled_tasks")]
        registries.append(getattr(tasks, "_eager_tasks", ()))
        for _ in range(100):  # another thread may add a task while the sets are copied
            try:
                found = [t for registry in registries for t in list(registry)]
                break
            except RuntimeError:
                continue
        else:
            found = []
        return [t for t in set(found) if not t.done()]

    @staticmethod
    def suspended_at(task: Any) -> str:
        """The innermost application frame of the task's await chain, else its coroutine's."""
        coro, outer, inner = task.get_coro(), None, None
        for _ in range(MAX_AWAIT_DEPTH):
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is None:
                break
            outer = outer or frame
            if _is_application(frame.f_code.co_filename):
                inner = frame
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        frame = inner or outer
        if frame is None:
            name = getattr(task.get_coro(), "__qualname__", type(task.get_coro()).__name__)
            return f"{name} (?:0)"
        return _frame_text(frame)

    def census(self, elapsed: float, first: bool) -> dict[str, Any]:
        counts: collections.Counter[str] = collections.Counter()
        old: collections.Counter[str] = collections.Counter()
        live = self.live()
        for task in live:
            site = self.suspended_at(task)
            counts[site] += 1
            if first:
                self.first_seen.add(task)
            elif task in self.first_seen:
                old[site] += 1
        groups = [
            # Tasks seen at the window's start are at least the window old; the others'
            # age is not known (the target recorded no creation time).
            {"site": site, "count": n, "oldest_age_seconds": round(elapsed, 3) if old[site] else 0}
            for site, n in counts.most_common(MAX_SITES)
        ]
        return {
            "count": len(live),
            "creation_sites_recorded": False,
            "grouped_by": "suspended at",
            "groups": groups,
        }


class Pauses:
    """Every collection in the window, timed through ``gc.callbacks``."""

    def __init__(self) -> None:
        self.buckets = [[0] * (len(PAUSE_BOUNDS) + 1) for _ in range(3)]
        self.total = [0.0, 0.0, 0.0]
        self.max = [0.0, 0.0, 0.0]
        self.started = 0.0
        self.trigger: str | None = None
        self.triggers: dict[str, list[float]] = {}  # site: [collections, seconds]

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            self.trigger = self._allocating() if info["generation"] >= 1 else None
            return
        if not self.started:
            return
        pause, gen = time.perf_counter() - self.started, info["generation"]
        self.started = 0.0
        self.buckets[gen][bisect.bisect_left(PAUSE_BOUNDS, pause)] += 1
        self.total[gen] += pause
        self.max[gen] = max(self.max[gen], pause)
        if self.trigger is not None and (
            self.trigger in self.triggers or len(self.triggers) < MAX_SITES
        ):
            site = self.triggers.setdefault(self.trigger, [0, 0.0])
            site[0] += 1
            site[1] += pause

    @staticmethod
    def _allocating() -> str | None:
        """The application function that was allocating when a collection started
        (constructors allocate for whoever builds the object)."""
        frame: types.FrameType | None = sys._getframe(2)
        while frame is not None:
            code = frame.f_code
            constructor = code.co_name in ("__init__", "__new__", "__post_init__")
            if _is_application(code.co_filename) and not constructor:
                return _frame_text(frame)
            frame = frame.f_back
        return None

    def report(self) -> dict[str, Any]:
        pauses = {}
        for gen in range(3):
            counts = self.buckets[gen]
            pauses[str(gen)] = {
                "count": sum(counts),
                "total_seconds": round(self.total[gen], 6),
                "max_seconds": round(self.max[gen], 6),
                "p50_seconds": _quantile(counts, PAUSE_BOUNDS, self.max[gen], 0.5),
                "p99_seconds": _quantile(counts, PAUSE_BOUNDS, self.max[gen], 0.99),
                "buckets": _buckets(counts, PAUSE_BOUNDS),
            }
        triggers = sorted(self.triggers.items(), key=lambda kv: -kv[1][1])[:10]
        return {
            "enabled": gc.isenabled(),
            "threshold": list(gc.get_threshold()),
            "frozen_objects": gc.get_freeze_count(),
            "garbage": len(gc.garbage),
            "pauses": pauses,
            "triggers": [_trigger(site, n, seconds) for site, (n, seconds) in triggers],
        }


def _trigger(site: str, collections: float, seconds: float) -> dict[str, Any]:
    where = _first_application([site]) or {"function": site, "file": "?", "line": 0}
    return {**where, "collections": int(collections), "pause_seconds": round(seconds, 6)}


class Beats:
    """Lateness of a callback the loop runs every ``BEAT_SECONDS``, and its stalls."""

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.buckets = [0] * (len(LAG_BOUNDS) + 1)
        self.max = 0.0
        self.stalls: list[dict[str, Any]] = []
        self.loop_thread = threading.get_ident()  # started on the loop's thread
        self.last = time.monotonic()
        self.due = loop.time() + BEAT_SECONDS
        self.handle = loop.call_at(self.due, self.beat)
        self.done = threading.Event()
        self.watchdog = threading.Thread(target=self.watch, name="labctl-window", daemon=True)
        self.watchdog.start()

    def beat(self) -> None:
        lag = max(0.0, self.loop.time() - self.due)
        self.buckets[bisect.bisect_left(LAG_BOUNDS, lag)] += 1
        self.max = max(self.max, lag)
        self.last = time.monotonic()
        self.due = self.loop.time() + BEAT_SECONDS
        self.handle = self.loop.call_at(self.due, self.beat)

    def watch(self) -> None:
        limit = BEAT_SECONDS + STALL_SECONDS
        samples: collections.Counter[tuple[str, ...]] = collections.Counter()
        started: float | None = None
        wait = 0.02
        while not self.done.wait(wait):
            silent = time.monotonic() - self.last
            stalled = silent > limit
            # Sleep until a stall could first be seen; sample only during one: each wake-up
            # takes the GIL from the loop's thread.
            wait = 0.02 if stalled else max(limit - silent, 0.02)
            if stalled:
                started = started or self.last + BEAT_SECONDS
                frame = sys._current_frames().get(self.loop_thread)
                if frame is not None:
                    samples[tuple(_stack(frame))] += 1
            elif started is not None:
                stack = list(samples.most_common(1)[0][0]) if samples else []
                self.stalls.append({
                    "seconds": round(max(0.0, self.last - started), 4),
                    "started_at": time.time() - (time.monotonic() - started),
                    "location": _first_application(stack),
                    "stack": stack,
                    "samples": sum(samples.values()),
                })  # fmt: skip
                samples, started = collections.Counter(), None

    def stop(self) -> None:
        self.done.set()
        self.handle.cancel()
        if threading.get_ident() != self.watchdog.ident:
            self.watchdog.join(timeout=2)

    def report(self) -> dict[str, Any]:
        return {
            "lag": {
                "beats": sum(self.buckets),
                "p50_seconds": _quantile(self.buckets, LAG_BOUNDS, self.max, 0.5),
                "p99_seconds": _quantile(self.buckets, LAG_BOUNDS, self.max, 0.99),
                "max_seconds": round(self.max, 6),
                "buckets": _buckets(self.buckets, LAG_BOUNDS),
            },
            "stalled_now_seconds": 0.0,
            "stalls": self.stalls,
        }


def _quantile(counts: list[int], bounds: tuple[float, ...], top: float, q: float) -> float | None:
    total, seen = sum(counts), 0
    for i, n in enumerate(counts):
        seen += n
        if total and seen >= q * total:
            return bounds[i] if i < len(bounds) else top
    return None


def _buckets(counts: list[int], bounds: tuple[float, ...]) -> dict[str, int]:
    return {**{str(b): n for b, n in zip(bounds, counts, strict=False)}, "+Inf": counts[-1]}


def _free_buffer(params: dict[str, Any]) -> None:
    """Unmap the page the debugger wrote the line that ran this file into: it was parsed
    before this file ran, and nothing reads it again."""
    if not params.get("buffer"):
        return
    try:
        import ctypes  # only the debugger's way in leaves a page to free

        libc = ctypes.CDLL(None)
        libc.munmap(ctypes.c_void_p(params["buffer"]), ctypes.c_size_t(params["size"]))
    except (ImportError, OSError, AttributeError):
        pass  # a page of the target stays mapped; nothing runs from it


def _write(path: str, body: dict[str, Any]) -> None:
    partial = f"{path}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(body, out)
    os.replace(partial, path)


def _running_loop(tasks: Tasks) -> Any:
    """The loop running in this (the main) thread, else the running loop with most tasks."""
    if tasks.asyncio is None:
        return None
    loop = tasks.asyncio.events._get_running_loop()
    if loop is not None:
        return loop
    loops = collections.Counter(t.get_loop() for t in tasks.live())
    return next((lp for lp, _ in loops.most_common() if lp.is_running()), None)


def open_window(params: dict[str, Any]) -> None:
    """Start the window; it ends by itself after ``params["seconds"]``. Its JSON has each
    view at the start and at the end of the window (``tasks``, ``gc``, ``loop``)."""
    _free_buffer(params)
    if time.time() > params["stale_after"]:
        return
    _write(params["out"] + ".started", {"at": time.time()})
    started, began = time.monotonic(), time.perf_counter()
    tasks = Tasks()
    body: dict[str, Any] = {
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "threads_at_start": threading.active_count(),
        "gc_callbacks_at_start": len(gc.callbacks),
        "tasks": [tasks.census(0.0, first=True)],
        "gc": [Pauses().report()],
        "loop": [],
    }
    census_seconds = time.perf_counter() - began
    pauses = Pauses()
    gc.callbacks.append(pauses)
    loop = _running_loop(tasks)
    beats: Beats | None = None
    if loop is not None and loop.is_running():
        if threading.get_ident() == getattr(loop, "_thread_id", None):
            beats = Beats(loop)
            empty_beats = beats.report()
        else:
            body["notes"] = ["the event loop runs in another thread; its lag was not timed"]

    def close() -> None:
        if pauses in gc.callbacks:
            gc.callbacks.remove(pauses)
        if beats is not None:
            beats.stop()
        began = time.perf_counter()
        body["tasks"].append(tasks.census(time.monotonic() - started, first=False))
        body["census_seconds"] = [round(census_seconds, 6),
                                  round(time.perf_counter() - began, 6)]  # fmt: skip
        body["gc"].append(pauses.report())
        if beats is not None:
            body["loop"] = [empty_beats, beats.report()]
        body["seconds"] = round(time.monotonic() - started, 4)
        body["threads_at_end"] = threading.active_count()
        # The target's own threads come and go; what counts is whether any of ours lives on.
        body["threads_left"] = sum(
            1
            for thread in threading.enumerate()
            if thread.name == "labctl-window" and thread is not threading.current_thread()
        )
        _write(params["out"], body)

    if loop is not None and beats is not None:
        loop.call_later(params["seconds"], close)
    else:
        timer = threading.Timer(params["seconds"], close)
        timer.name, timer.daemon = "labctl-window", True
        timer.start()


if "_labctl" in globals():
    open_window(globals()["_labctl"])
