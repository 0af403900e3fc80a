"""asyncio task introspection: the ``goroutine?debug=2`` of an event loop.

:class:`TaskTracker` is an opt-in task factory that records, for each task, where it was
created (one frame walk, no traceback formatting) and when, and keeps a bounded history of
finished tasks. :func:`list_tasks` reads the tasks of a loop from any thread: it never runs on
the target loop, so it answers while that loop is blocked.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import itertools
import os
import sys
import time
import types
import weakref
from collections.abc import Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leaky_app.debug.endpoints import BadParam, Endpoint, choice_param, error, int_param
from leaky_app.debug.frames import FrameInfo, from_frame

_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)


_Meta = tuple[int, types.CodeType | None, int, float]


class TaskMeta(NamedTuple):
    """Recorded at creation: kept raw (a code object and a line) and formatted on demand,
    because the factory runs for every task the service creates."""

    id: int
    code: types.CodeType | None
    line: int
    created: float

    @property
    def site(self) -> FrameInfo | None:
        if self.code is None:
            return None
        return FrameInfo(self.code.co_qualname, self.code.co_filename, self.line)


@dataclass(frozen=True, slots=True)
class FinishedTask:
    id: int
    name: str
    site: str
    age_seconds: float
    outcome: str  # "result", "cancelled" or "exception: Type"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "site": self.site,
            "age_seconds": round(self.age_seconds, 6),
            "outcome": self.outcome,
        }


@dataclass(frozen=True, slots=True)
class TaskRecord:
    id: int
    name: str
    state: str
    coroutine: str
    site: str
    age_seconds: float | None
    await_chain: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "coroutine": self.coroutine,
            "site": self.site,
            "age_seconds": None if self.age_seconds is None else round(self.age_seconds, 3),
            "await_chain": self.await_chain,
        }


_Task = asyncio.Task
_getframe = sys._getframe
_monotonic = time.monotonic
# A task destroyed while pending never runs its done callback; past this many records the
# tracker drops those of tasks no longer alive.
_SWEEP_AT = 50_000


class TaskTracker:
    """Task factory recording creation site and age. ``install(loop)`` / ``uninstall(loop)``.

    The factory runs for every task the service creates (uvicorn makes one per request), so
    it does the least it can in Python: one frame walk, a plain tuple in a dict keyed by the
    task's id (a weak reference per task cost as much again), and a done callback that moves
    the record to the bounded history. Names, outcomes and sites are formatted when read.
    """

    def __init__(self, history: int = 200) -> None:
        self._meta: dict[int, _Meta] = {}  # id(task) -> (id, code, line, created), live tasks
        self._ids = itertools.count(1)
        self._on_done = self._finished  # bound once, not per task
        # Finished tasks are kept as they are (bounded), with their record and end time.
        self._finished_tasks: collections.deque[tuple[asyncio.Task[Any], _Meta, float]] = (
            collections.deque(maxlen=history)
        )

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.set_task_factory(self._factory)

    def uninstall(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop.get_task_factory() == self._factory:
            loop.set_task_factory(None)

    def _factory(
        self,
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = _Task(coro, loop=loop, context=context)
        frame: types.FrameType | None = _getframe(2)  # the caller of loop.create_task
        while frame is not None and frame.f_code.co_filename.startswith(_ASYNCIO_DIR):
            frame = frame.f_back  # asyncio.create_task, gather, ...: their caller is the site
        meta = self._meta
        if frame is None:
            meta[id(task)] = (next(self._ids), None, 0, _monotonic())
        else:
            meta[id(task)] = (next(self._ids), frame.f_code, frame.f_lineno, _monotonic())
        if len(meta) > _SWEEP_AT:
            self._sweep(loop)
        task.add_done_callback(self._on_done)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        meta = self._meta.pop(id(task), None)
        if meta is not None:
            self._finished_tasks.append((task, meta, _monotonic()))

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        alive = {id(t) for t in asyncio.all_tasks(loop)}
        for key in [k for k in self._meta if k not in alive]:
            del self._meta[key]

    @property
    def history(self) -> list[FinishedTask]:
        """Recently finished tasks, oldest first."""
        out = []
        for task, raw, ended in list(self._finished_tasks):
            meta = TaskMeta(*raw)
            if task.cancelled():
                outcome = "cancelled"
            elif task.exception() is not None:
                outcome = f"exception: {type(task.exception()).__name__}"
            else:
                outcome = "result"
            site = meta.site
            out.append(
                FinishedTask(
                    meta.id,
                    task.get_name(),
                    str(site) if site else "unknown",
                    ended - meta.created,
                    outcome,
                )
            )
        return out

    def meta(self, task: asyncio.Task[Any]) -> TaskMeta | None:
        """The record of a live task (read from any thread: a dict lookup is atomic)."""
        raw = self._meta.get(id(task))
        return None if raw is None else TaskMeta(*raw)


def await_chain(coro: object, limit: int = 32) -> list[str]:
    """Frames of a coroutine and what it awaits, outermost first, ending at the Future."""
    chain: list[str] = []
    current: object | None = coro
    while current is not None and len(chain) < limit:
        frame = getattr(current, "cr_frame", None) or getattr(current, "gi_frame", None)
        if isinstance(frame, types.FrameType):
            chain.append(str(from_frame(frame)))
        nxt = getattr(current, "cr_await", None)
        if nxt is None:
            nxt = getattr(current, "gi_yieldfrom", None)
        if isinstance(nxt, asyncio.Future):
            chain.append(f"awaiting {type(nxt).__name__} {_future_label(nxt)}")
            break
        if nxt is not None and not hasattr(nxt, "cr_frame") and not hasattr(nxt, "gi_frame"):
            # `await future` leaves the future's C iterator here; the future is not reachable.
            kind = type(nxt).__name__
            chain.append(f"awaiting {'Future' if 'Future' in kind else kind}")
            break
        current = nxt
    return chain


def _future_label(future: asyncio.Future[Any]) -> str:
    if isinstance(future, asyncio.Task):
        return repr(future.get_name())
    return "(pending)" if not future.done() else "(done)"


def _snapshot_tasks(loop: asyncio.AbstractEventLoop) -> list[asyncio.Task[Any]]:
    # all_tasks retries when the set changes under it (we run on another thread).
    for _ in range(10):
        try:
            return list(asyncio.all_tasks(loop))
        except RuntimeError:
            continue
    return []


def _site_of(coro: object) -> str:
    """Without the tracker: the outermost application frame of the await chain."""
    frame = getattr(coro, "cr_frame", None)
    if isinstance(frame, types.FrameType):
        code = frame.f_code
        return f"{code.co_qualname} ({code.co_filename}:{code.co_firstlineno})"
    return "unknown"


def list_tasks(
    loop: asyncio.AbstractEventLoop, tracker: TaskTracker | None, with_chain: bool = True
) -> list[TaskRecord]:
    now = time.monotonic()
    records = []
    for task in _snapshot_tasks(loop):
        meta = tracker.meta(task) if tracker else None
        coro = task.get_coro()
        recorded = meta.site if meta is not None else None
        site = str(recorded) if recorded is not None else _site_of(coro)
        state = "cancelling" if task.cancelling() else ("done" if task.done() else "pending")
        records.append(
            TaskRecord(
                id=meta.id if meta else id(task),
                name=task.get_name(),
                state=state,
                coroutine=getattr(coro, "__qualname__", type(coro).__name__),
                site=site,
                age_seconds=(now - meta.created) if meta else None,
                await_chain=await_chain(coro) if with_chain else [],
            )
        )
    records.sort(key=lambda r: -(r.age_seconds or 0.0))
    return records


def group_by_site(records: list[TaskRecord]) -> list[dict[str, Any]]:
    """Counts per creation site, most first: the leaking site is at the top."""
    counts = collections.Counter(r.site for r in records)
    oldest: dict[str, float] = {}
    for r in records:
        oldest[r.site] = max(oldest.get(r.site, 0.0), r.age_seconds or 0.0)
    return [
        {"site": site, "count": n, "oldest_age_seconds": round(oldest[site], 3)}
        for site, n in counts.most_common()
    ]


def find_task(
    loop: asyncio.AbstractEventLoop, tracker: TaskTracker | None, task_id: int
) -> asyncio.Task[Any] | None:
    for task in _snapshot_tasks(loop):
        meta = tracker.meta(task) if tracker else None
        if (meta.id if meta else id(task)) == task_id:
            return task
    return None


MAX_LISTED = 5000  # tasks (or sites) one answer lists at most; "count" still counts them all
# The service's own loops (click flush, config watch, scheduler...): cancelling one from the
# debug port would quietly stop a part of the service, so it is refused.
_essential: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


def mark_essential(task: asyncio.Task[Any]) -> None:
    """The service calls this for each of its own long-lived loops."""
    _essential.add(task)


def task_endpoints(loop: asyncio.AbstractEventLoop, tracker: TaskTracker | None) -> list[Endpoint]:
    """``/debug/tasks``: every task of ``loop``, grouped by creation site when ``tracker``
    records sites; its recent history; cancelling one task by id."""

    async def tasks(request: Request) -> Response:
        group = choice_param(request, "group", ["none", "site"])
        limit = int_param(request, "limit", 500, 1, MAX_LISTED)
        records = list_tasks(loop, tracker, with_chain=group == "none")
        body: dict[str, Any] = {
            "count": len(records),
            "creation_sites_recorded": tracker is not None,
        }
        if group == "site":
            body["groups"] = group_by_site(records)[:limit]
        else:
            body["tasks"] = [r.to_json() for r in records[:limit]]
        return JSONResponse(body)

    async def task_history(request: Request) -> Response:
        if tracker is None:
            return error(409, "not_recording", "the task factory is off; no history is kept")
        return JSONResponse({"finished": [t.to_json() for t in reversed(tracker.history)]})

    async def cancel_task(request: Request) -> Response:
        try:
            task_id = int(request.path_params["task_id"])
        except ValueError:
            raise BadParam("task id must be an integer") from None
        task = find_task(loop, tracker, task_id)
        if task is None:
            return error(404, "not_found", f"no live task with id {task_id}")
        if task in _essential:
            return error(409, "essential_task", f"task {task_id} ({task.get_name()}) is one of "
                         "the service's own loops; it cannot be cancelled from here")  # fmt: skip
        loop.call_soon_threadsafe(task.cancel)
        return JSONResponse({"cancelled": task_id, "name": task.get_name()}, status_code=202)

    return [
        Endpoint("/debug/tasks", ("GET",), "asyncio tasks: await chain, creation site, age",
                 f"group=none|site, limit (at most {MAX_LISTED})", tasks),
        Endpoint("/debug/tasks/history", ("GET",), "recently finished tasks and how they ended",
                 "", task_history),
        Endpoint("/debug/tasks/{task_id}/cancel", ("POST",), "cancel one task by id (not one "
                 "of the service's own loops)", "",
                 cancel_task),
    ]  # fmt: skip
