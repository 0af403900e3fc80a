"""The debug HTTP app: every endpoint is one :class:`Endpoint` entry, each group of them
returned by the module that owns the view (``task_endpoints``, ``heap_endpoints``, ...), and
the index is generated from that table, like pprof's index page.

Parameters are uniform and bounded (``seconds``, ``limit``, ``format``); a value out of range
is a 400 with a sentence, and "expensive" endpoints run one at a time (429 when busy).
Nothing here evaluates code sent by the caller.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from leaky_app.debug.auth import OPERATOR, BearerAuthMiddleware
from leaky_app.debug.endpoints import BadParam, Endpoint, Handler, error
from leaky_app.debug.gcview import GCPauses, gc_endpoints
from leaky_app.debug.heap import HeapProfiler, NotTracing, heap_endpoints
from leaky_app.debug.loopwatch import LoopWatchdog, loop_endpoints
from leaky_app.debug.objects import ObjectsView, object_endpoints
from leaky_app.debug.sampler import profile_endpoints
from leaky_app.debug.tasks import TaskTracker, task_endpoints
from leaky_app.debug.threads import thread_endpoints
from leaky_app.debug.vars import vars_endpoints


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


def index_endpoint(endpoints: Sequence[Endpoint]) -> Endpoint:
    """``/debug/``: every endpoint with its methods, summary and parameters."""

    async def index(request: Request) -> Response:
        rows: list[dict[str, Any]] = [
            {"path": e.path, "methods": list(e.methods), "summary": e.summary,
             "params": e.params, "expensive": e.expensive}
            for e in endpoints
        ]  # fmt: skip
        if request.query_params.get("format") == "text":
            text = "\n".join(
                f"{','.join(r['methods']):<10} {r['path']:<34} {r['summary']}"
                + (f"  [{r['params']}]" if r["params"] else "")
                for r in rows
            )
            return PlainTextResponse(text + "\n")
        return JSONResponse({"endpoints": rows})

    return Endpoint("/debug/", ("GET",), "this index", "format=json|text", index)


def build_endpoints(state: DebugState, extra: Sequence[Endpoint] = ()) -> list[Endpoint]:
    """Every endpoint, the index first; ``extra`` (a service's own groups) last."""
    endpoints: list[Endpoint] = []
    endpoints += [
        index_endpoint(endpoints),  # reads the list as it stands once built
        *task_endpoints(state.loop, state.tracker),
        *thread_endpoints(),
        *profile_endpoints(state.max_seconds),
        *heap_endpoints(state.heap, state.max_seconds),
        *gc_endpoints(state.pauses),
        *loop_endpoints(state.watchdog),
        *object_endpoints(state.objects),
        *vars_endpoints(state.started, state.settings),
        *extra,
    ]
    return endpoints


def _wrap(endpoint: Endpoint, state: DebugState) -> Handler:
    async def handle(request: Request) -> Response:
        if endpoint.operator and not request.scope.get("state", {}).get(OPERATOR):
            return error(
                403,
                "operator_only",
                f"{endpoint.path} is the operator's: send the operator token"
                " (run/operator.token), not the observer's",
            )
        try:
            if not endpoint.expensive:
                return await endpoint.handler(request)
            if state.busy.locked():
                return error(429, "busy", "another expensive profile is running; retry later")
            async with state.busy:
                return await endpoint.handler(request)
        except BadParam as exc:
            return error(400, "bad_parameter", str(exc))
        except NotTracing as exc:
            return error(409, "not_tracing", str(exc))
        except ValueError as exc:
            return error(400, "bad_parameter", str(exc))

    return handle


def build_app(
    state: DebugState,
    token: str,
    extra: Sequence[Endpoint] = (),
    operator_token: str | None = None,
) -> Starlette:
    """The debug app; ``extra`` endpoints (e.g. a service's admin switches) join the index.
    ``token`` is the observer's, ``operator_token`` the operator's (see
    :mod:`leaky_app.debug.auth`)."""
    routes: list[BaseRoute] = [
        Route(e.path, _wrap(e, state), methods=list(e.methods))
        for e in build_endpoints(state, extra)
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return error(404, "not_found", f"no debug endpoint {request.url.path}; see /debug/")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return error(405, "method_not_allowed", f"{request.method} is not allowed here")

    return Starlette(
        routes=routes,
        middleware=[Middleware(BearerAuthMiddleware, token=token, operator_token=operator_token)],
        exception_handlers={404: not_found, 405: not_allowed},
    )
