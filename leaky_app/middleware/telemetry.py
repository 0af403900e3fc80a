"""Request telemetry in one ASGI layer: request id, RED metrics per route template, access log.

One layer rather than three because each ASGI wrapper costs a coroutine frame and a ``send``
closure per request; merged, the instrumentation stays within a few percent of a bare app
(see ``bench/results/instrumentation_overhead.md``).

* **Request id** (seed Q374): ``X-Request-ID`` is kept when safe, else minted; it is set in the
  contextvar for logs and downstream calls and echoed on the response.
* **RED metrics**: the ``route`` label is the route that matched (``/{code}``), never the raw
  path, so the number of series stays bounded whatever codes clients send.
* **Access log**: every error (status >= 400) and every slow request is logged; other requests
  are sampled at ``access_log.sample_rate`` (hot-reloadable, default 1%).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from prometheus_client import Counter, Histogram
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leaky_app.context import REQUEST_ID_HEADER, accept_or_generate, request_id_var
from leaky_app.metrics import UNMATCHED_ROUTE, Metrics
from leaky_app.settings import AccessLogConfig

access_log = logging.getLogger("leaky_app.access")
_HEADER_BYTES = REQUEST_ID_HEADER.encode()


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    if isinstance(route, BaseRoute):
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return path
    return UNMATCHED_ROUTE


class TelemetryMiddleware:
    def __init__(
        self, app: ASGIApp, metrics: Metrics, access: Callable[[], AccessLogConfig]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access = access
        # prometheus-client's labels() validates and locks on every call; children are
        # stable objects, so look each one up once.
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = None
        for name, value in scope["headers"]:
            if name == _HEADER_BYTES:
                incoming = value.decode("latin-1")
                break
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

        try:
            await self.app(scope, receive, send_with_telemetry)
        finally:
            elapsed = time.perf_counter() - started
            self._record(scope, status, elapsed)
            request_id_var.reset(token)

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        method: str = scope["method"]
        route = route_template(scope)
        key = (method, route, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.metrics.http_requests.labels(
                method, route, str(status)
            )
        counter.inc()
        hkey = (method, route)
        histogram = self._histograms.get(hkey)
        if histogram is None:
            histogram = self._histograms[hkey] = self.metrics.http_request_duration.labels(
                method, route
            )
        histogram.observe(elapsed)
        access = self.access()
        if not access.enabled:
            return
        sampled_out = random.random() >= access.sample_rate  # noqa: S311 - not security
        if status < 400 and elapsed * 1000 < access.slow_ms and sampled_out:
            return
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
