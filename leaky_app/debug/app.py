"""The debug HTTP app: every endpoint is one :class:`Endpoint` entry, and the index is
generated from that table, like pprof's index page.

Parameters are uniform and bounded (``seconds``, ``limit``, ``format``); a value out of range
is a 400 with a sentence, and "expensive" endpoints run one at a time (429 when busy).
Nothing here evaluates code sent by the caller.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from leaky_app.debug import gcview
from leaky_app.debug.auth import BearerAuthMiddleware
from leaky_app.debug.gcview import GCPauses
from leaky_app.debug.heap import HeapProfiler, NotTracing
from leaky_app.debug.loopwatch import LoopWatchdog
from leaky_app.debug.objects import ObjectsView
from leaky_app.debug.sampler import sample
from leaky_app.debug.tasks import TaskTracker, find_task, group_by_site, list_tasks
from leaky_app.debug.threads import thread_stacks
from leaky_app.debug.vars import process_vars

Handler = Callable[[Request], Awaitable[Response]]


class BadParam(ValueError):
    """A query parameter is missing or out of range; answered with 400."""


@dataclass
class DebugState:
    loop: asyncio.AbstractEventLoop
    tracker: TaskTracker | None
    watchdog: LoopWatchdog
    pauses: GCPauses
    max_seconds: float
    settings: Callable[[], Mapping[str, Any]]
    heap: HeapProfiler = field(default_factory=HeapProfiler)
    objects: ObjectsView = field(default_factory=ObjectsView)
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)
    started: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: tuple[str, ...]
    summary: str
    params: str
    handler: Handler
    expensive: bool = False


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParam(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise BadParam(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def seconds_param(request: Request, state: DebugState, default: float, required: bool) -> float:
    raw = request.query_params.get("seconds")
    if raw is None:
        if required:
            raise BadParam("seconds is required")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadParam(f"seconds must be a number, got {raw!r}") from None
    if not 0 < value <= state.max_seconds:
        raise BadParam(f"seconds must be > 0 and at most {state.max_seconds:g}, got {raw}")
    return value


def choice_param(request: Request, name: str, choices: Sequence[str]) -> str:
    value = request.query_params.get(name, choices[0])
    if value not in choices:
        raise BadParam(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def build_endpoints(state: DebugState, extra: Sequence[Endpoint] = ()) -> list[Endpoint]:
    async def index(request: Request) -> Response:
        rows: list[dict[str, Any]] = [
            {
                "path": e.path,
                "methods": list(e.methods),
                "summary": e.summary,
                "params": e.params,
                "expensive": e.expensive,
            }
            for e in endpoints
        ]
        if request.query_params.get("format") == "text":
            text = "\n".join(
                f"{','.join(r['methods']):<10} {r['path']:<34} {r['summary']}"
                + (f"  [{r['params']}]" if r["params"] else "")
                for r in rows
            )
            return PlainTextResponse(text + "\n")
        return JSONResponse({"endpoints": rows})

    async def tasks(request: Request) -> Response:
        group = choice_param(request, "group", ["none", "site"])
        limit = int_param(request, "limit", 500, 1, 100_000)
        records = list_tasks(state.loop, state.tracker, with_chain=group == "none")
        body: dict[str, Any] = {
            "count": len(records),
            "creation_sites_recorded": state.tracker is not None,
        }
        if group == "site":
            body["groups"] = group_by_site(records)[:limit]
        else:
            body["tasks"] = [r.to_json() for r in records[:limit]]
        return JSONResponse(body)

    async def task_history(request: Request) -> Response:
        if state.tracker is None:
            return _error(409, "not_recording", "the task factory is off; no history is kept")
        return JSONResponse({"finished": [t.to_json() for t in reversed(state.tracker.history)]})

    async def cancel_task(request: Request) -> Response:
        try:
            task_id = int(request.path_params["task_id"])
        except ValueError:
            raise BadParam("task id must be an integer") from None
        task = find_task(state.loop, state.tracker, task_id)
        if task is None:
            return _error(404, "not_found", f"no live task with id {task_id}")
        state.loop.call_soon_threadsafe(task.cancel)
        return JSONResponse({"cancelled": task_id, "name": task.get_name()}, status_code=202)

    async def threads(request: Request) -> Response:
        return JSONResponse({"threads": thread_stacks()})

    async def profile(request: Request) -> Response:
        seconds = seconds_param(request, state, 5.0, required=False)
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

    async def heap(request: Request) -> Response:
        limit = int_param(request, "limit", 20, 1, 1000)
        group = choice_param(request, "group", ["traceback", "lineno", "filename"])
        if "seconds" in request.query_params:
            seconds = seconds_param(request, state, 0, required=True)
            stats = await asyncio.to_thread(state.heap.window, seconds, limit, group)  # type: ignore[arg-type]
            return JSONResponse({"mode": "window", "seconds": seconds,
                                 "growth": [s.to_json() for s in stats]})  # fmt: skip
        stats = await asyncio.to_thread(state.heap.top, limit, group)  # type: ignore[arg-type]
        return JSONResponse({"mode": "top", **state.heap.status(),
                             "top": [s.to_json() for s in stats]})  # fmt: skip

    async def heap_diff(request: Request) -> Response:
        limit = int_param(request, "limit", 20, 1, 1000)
        group = choice_param(request, "group", ["traceback", "lineno", "filename"])
        stats = await asyncio.to_thread(state.heap.diff, limit, group)  # type: ignore[arg-type]
        note = None if stats else "first snapshot taken; call again to see growth"
        return JSONResponse({"growth": [s.to_json() for s in stats], "note": note})

    async def heap_start(request: Request) -> Response:
        frames = int_param(request, "frames", state.heap.default_frames, 1, 100)
        state.heap.start(frames)
        return JSONResponse(state.heap.status())

    async def heap_stop(request: Request) -> Response:
        state.heap.stop()
        return JSONResponse(state.heap.status())

    async def gc_get(request: Request) -> Response:
        return JSONResponse(gcview.gc_state(state.pauses))

    async def gc_threshold(request: Request) -> Response:
        hi = gcview.MAX_THRESHOLD
        previous = gcview.set_threshold(
            int_param(request, "gen0", 700, 0, hi),
            int_param(request, "gen1", 10, 0, hi),
            int_param(request, "gen2", 10, 0, hi),
        )
        return JSONResponse({"previous": list(previous), "threshold": list(gc.get_threshold())})

    async def gc_freeze(request: Request) -> Response:
        return JSONResponse({"frozen_objects": await asyncio.to_thread(gcview.freeze)})

    async def gc_unfreeze(request: Request) -> Response:
        return JSONResponse({"frozen_objects": gcview.unfreeze()})

    async def gc_collect(request: Request) -> Response:
        generation = int_param(request, "generation", 2, 0, 2)
        return JSONResponse(await asyncio.to_thread(gcview.collect, generation))

    async def loop(request: Request) -> Response:
        return JSONResponse(state.watchdog.report())

    async def objects(request: Request) -> Response:
        limit = int_param(request, "limit", 20, 1, 1000)
        return JSONResponse(
            {"most_common": await asyncio.to_thread(state.objects.most_common, limit)}
        )

    async def objects_growth(request: Request) -> Response:
        limit = int_param(request, "limit", 20, 1, 1000)
        return JSONResponse({"growth": await asyncio.to_thread(state.objects.growth, limit)})

    async def objects_backrefs(request: Request) -> Response:
        type_name = request.query_params.get("type")
        if not type_name or len(type_name) > 200:
            raise BadParam("type is required (a type name as /debug/objects lists it)")
        depth = int_param(request, "max_depth", 20, 1, 50)
        fmt = choice_param(request, "format", ["text", "png"])
        chain = await asyncio.to_thread(state.objects.backref_chain, type_name, depth)
        if chain is None:
            return _error(404, "not_found", f"no live object of type {type_name!r}")
        if fmt == "png":
            image = await asyncio.to_thread(state.objects.chain_png, chain)
            if image is None:
                return _error(
                    501, "no_graphviz", "graphviz 'dot' is not installed; use format=text"
                )
            return Response(image, media_type="image/png")
        body: dict[str, Any] = {"type": type_name, "chain": state.objects.describe_chain(chain)}
        note = state.objects.frozen_note(chain)
        if note:
            body["note"] = note
        return JSONResponse(body)

    async def vars_(request: Request) -> Response:
        return JSONResponse(process_vars(state.started, state.settings()))

    endpoints = [
        Endpoint("/debug/", ("GET",), "this index", "format=json|text", index),
        Endpoint("/debug/tasks", ("GET",), "asyncio tasks: await chain, creation site, age",
                 "group=none|site, limit", tasks),
        Endpoint("/debug/tasks/history", ("GET",), "recently finished tasks and how they ended",
                 "", task_history),
        Endpoint("/debug/tasks/{task_id}/cancel", ("POST",), "cancel one task by id", "",
                 cancel_task),
        Endpoint("/debug/threads", ("GET",), "every thread's stack", "", threads),
        Endpoint("/debug/profile", ("GET",), "in-process stack sampler (no ptrace needed)",
                 "seconds, hz, format=json|collapsed|speedscope, limit", profile, expensive=True),
        Endpoint("/debug/heap", ("GET",), "tracemalloc top sites, or growth over seconds=N",
                 "seconds, limit, group=traceback|lineno|filename", heap, expensive=True),
        Endpoint("/debug/heap/diff", ("GET",), "growth since the previous heap snapshot",
                 "limit, group", heap_diff, expensive=True),
        Endpoint("/debug/heap/start", ("POST",), "start tracemalloc", "frames", heap_start),
        Endpoint("/debug/heap/stop", ("POST",), "stop tracemalloc, free its memory", "", heap_stop),
        Endpoint("/debug/gc", ("GET",), "collections, pauses per generation, thresholds", "",
                 gc_get),
        Endpoint("/debug/gc/threshold", ("PUT",), "set gc thresholds live (the GOGC knob)",
                 "gen0, gen1, gen2", gc_threshold),
        Endpoint("/debug/gc/freeze", ("POST",), "gc.freeze(): move every object to the "
                 "permanent generation",
                 "", gc_freeze),
        Endpoint("/debug/gc/unfreeze", ("POST",), "gc.unfreeze(): every frozen object "
                 "back in the oldest generation, the start-up freeze too", "", gc_unfreeze),
        Endpoint("/debug/gc/collect", ("POST",), "run a collection and time it", "generation",
                 gc_collect, expensive=True),
        Endpoint("/debug/loop", ("GET",), "event-loop lag and the calls that blocked it", "", loop),
        Endpoint("/debug/objects", ("GET",), "most common object types (objgraph)", "limit",
                 objects, expensive=True),
        Endpoint("/debug/objects/growth", ("GET",), "types that grew since the last call", "limit",
                 objects_growth, expensive=True),
        Endpoint("/debug/objects/backrefs", ("GET",), "what keeps an object of a type alive",
                 "type, max_depth, format=text|png", objects_backrefs, expensive=True),
        Endpoint("/debug/vars", ("GET",), "versions, pid, uptime, settings (secrets masked)", "",
                 vars_),
        *extra,
    ]  # fmt: skip
    return endpoints


def _wrap(endpoint: Endpoint, state: DebugState) -> Handler:
    async def handle(request: Request) -> Response:
        try:
            if not endpoint.expensive:
                return await endpoint.handler(request)
            if state.busy.locked():
                return _error(429, "busy", "another expensive profile is running; retry later")
            async with state.busy:
                return await endpoint.handler(request)
        except BadParam as exc:
            return _error(400, "bad_parameter", str(exc))
        except NotTracing as exc:
            return _error(409, "not_tracing", str(exc))
        except ValueError as exc:
            return _error(400, "bad_parameter", str(exc))

    return handle


def build_app(state: DebugState, token: str, extra: Sequence[Endpoint] = ()) -> Starlette:
    """The debug app; ``extra`` endpoints (e.g. a service's admin switches) join the index."""
    routes: list[BaseRoute] = [
        Route(e.path, _wrap(e, state), methods=list(e.methods))
        for e in build_endpoints(state, extra)
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, "not_found", f"no debug endpoint {request.url.path}; see /debug/")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, "method_not_allowed", f"{request.method} is not allowed here")

    return Starlette(
        routes=routes,
        middleware=[Middleware(BearerAuthMiddleware, token=token)],
        exception_handlers={404: not_found, 405: not_allowed},
    )
