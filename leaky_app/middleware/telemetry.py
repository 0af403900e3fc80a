"""Request telemetry in one ASGI layer: request id, RED metrics per route template, access log.

One layer rather than three because each ASGI wrapper costs a coroutine frame and a ``send``
closure per request. Merged, it adds about 14 µs of CPU to a 205 µs cache-hit redirect
(``bench/results/request_path_cost.md``): about 6 for the request id, its header and the
timing, 4 for the RED metrics, 3 for the access-log decision and its sampled lines.

* **Request id** (seed Q374): ``X-Request-ID`` is kept when safe, else minted; it is set in the
  contextvar for logs and downstream calls and echoed on the response.
* **RED metrics**: the ``route`` label is the route that matched (``/{code}``), never the raw
  path, so the number of series stays bounded whatever codes clients send.
* **Access log**: every error (status >= 400) and every slow request is logged; other requests
  are sampled at ``access_log.sample_rate`` (hot-reloadable, default 1%).
* **Trace** (seed Q362): a sampled request (:func:`~leaky_app.tracing.should_trace`) gets one
  server span, continuing the caller's ``traceparent``; its trace id is the exemplar of the
  request's latency observation, so a slow bucket leads to a trace. One span opened here, not
  opentelemetry-instrumentation-asgi (two more spans per request, for ``receive`` and
  ``send``) or FastAPI's native layer: both pay before they know whether a request is traced.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from opentelemetry.trace import SpanKind, StatusCode
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leaky_app.context import REQUEST_ID_HEADER, accept_or_generate, request_id_var
from leaky_app.metrics import UNMATCHED_ROUTE, Metrics
from leaky_app.settings import AccessLogConfig
from leaky_app.tracing import TRACER, extract, should_trace, trace_id_of

access_log = logging.getLogger("leaky_app.access")
_HEADER_BYTES = REQUEST_ID_HEADER.encode()
_TRACEPARENT = b"traceparent"
# Bound once: every request calls them, and a module attribute is a lookup per call.
_now = time.perf_counter
_random = random.random  # sampling the access log, not security


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    if isinstance(route, BaseRoute):
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return path
    return UNMATCHED_ROUTE


class TelemetryMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        access: Callable[[], AccessLogConfig],
        trace_ratio: float | None = None,  # None: tracing off
    ) -> None:
        self.app = app
        self.observe = metrics.http.observe
        self.access = access
        self.trace_ratio = trace_ratio

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = _now()
        incoming = None
        traceparent = None
        for name, value in scope["headers"]:
            if name == _HEADER_BYTES:
                incoming = value.decode("latin-1")
            elif name == _TRACEPARENT:
                traceparent = value
        request_id = accept_or_generate(incoming)
        token = request_id_var.set(request_id)
        header = (_HEADER_BYTES, request_id.encode())
        status = 500  # what the client sees if the app raises before responding

        async def send_with_telemetry(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        if self.trace_ratio is None or not should_trace(
            scope["path"], traceparent, self.trace_ratio
        ):
            try:
                await self.app(scope, receive, send_with_telemetry)
            finally:
                self._record(scope, status, _now() - started, None)
                request_id_var.reset(token)
            return
        method: str = scope["method"]
        with TRACER.start_as_current_span(
            method,  # renamed "GET /{code}" once routing has matched
            context=extract(traceparent.decode("latin-1") if traceparent else None),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as span:
            try:
                await self.app(scope, receive, send_with_telemetry)
            finally:
                elapsed = _now() - started
                route = self._record(scope, status, elapsed, trace_id_of(span))
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)
                request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, elapsed: float, trace_id: str | None) -> str:
        """Count and time the request, log it when due; returns its route template."""
        method: str = scope["method"]
        route = route_template(scope)
        self.observe(method, route, status, elapsed, trace_id)
        access = self.access()
        if not access.enabled or (
            status < 400 and elapsed * 1000 < access.slow_ms and _random() >= access.sample_rate
        ):
            return route
        access_log.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "path": scope["path"],
                "status": status,
                "duration_ms": round(elapsed * 1000, 3),
            },
        )
        return route
