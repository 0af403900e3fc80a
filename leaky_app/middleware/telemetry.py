"""Request telemetry in one ASGI layer: request id, RED metrics per route template, access log.

One layer rather than three because each ASGI wrapper costs a coroutine frame and a ``send``
closure per request. Merged, it adds about 26,000 instructions to a cache-hit redirect's 1.11
million (2.4%, ``bench/results/request_path_instructions.md``) and 3.5% of its throughput
(``instrumentation_overhead.md``); in CPU time, measured in one process, about 4%
(``request_path_cost.md``): code that runs once per request misses the caches and branch
predictors more than the average instruction does. No one piece dominates: the ASGI layer
itself, the request id with its context variable and response header (which uvicorn
validates with two regex searches), and the RED metrics each cost about 1% of a request.
An access-log line costs about 200,000 instructions, so fast successes are not logged unless
``access_log.sample_rate`` asks for a share of them.

* **Request id** (seed Q374): ``X-Request-ID`` is kept when safe, else minted; it is set in the
  contextvar for logs and downstream calls and echoed on the response.
* **RED metrics**: the ``route`` label is the route that matched (``/{code}``), never the raw
  path, so the number of series stays bounded whatever codes clients send.
* **Access log**: every error (status >= 400) and every slow request is logged; fast
  successes, which the RED metrics count, are sampled at ``access_log.sample_rate``
  (hot-reloadable, default 0), as read by an :class:`AccessLogPolicy` that the config
  watcher updates.
* **Trace** (seed Q362): a sampled request (:func:`~leaky_app.tracing.should_trace`) gets one
  server span, continuing the caller's ``traceparent``; its trace id is the exemplar of the
  request's latency observation, so a slow bucket leads to a trace. One span opened here, not
  opentelemetry-instrumentation-asgi (two more spans per request, for ``receive`` and
  ``send``) or FastAPI's native layer: both pay before they know whether a request is traced.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leaky_app.context import REQUEST_ID_HEADER, accept_or_generate, request_id_var
from leaky_app.debug.idle_gc import RequestActivity
from leaky_app.metrics import UNMATCHED_ROUTE, Metrics
from leaky_app.settings import AccessLogConfig
from leaky_app.tracing import ServerSpan, should_trace

access_log = logging.getLogger("leaky_app.access")
_HEADER_BYTES = REQUEST_ID_HEADER.encode()
_TRACEPARENT = b"traceparent"
# Bound once: every request calls them, and a module attribute is a lookup per call.
_now = time.perf_counter
_random = random.random  # sampling the access log, not security


def route_template(scope: Scope) -> str:
    """The template of the route that matched (``/{code}``), else ``UNMATCHED_ROUTE``."""
    try:
        path: str = scope["route"].path  # every Starlette route but Host has a path
    except (KeyError, AttributeError):
        return UNMATCHED_ROUTE
    return path


class AccessLogPolicy:
    """Which requests get an access-log line, as three fields the request path compares.

    Every request reads it, so it holds the hot-reloaded :class:`AccessLogConfig` already
    resolved (slow threshold in seconds, "off" as thresholds nothing reaches) rather than
    the config: the watcher calls :meth:`configure` on each change::

        policy = AccessLogPolicy()
        watcher = ConfigWatcher(path, on_change=[lambda c: policy.configure(c.access_log)])
    """

    __slots__ = ("errors_from", "sample_rate", "slow_seconds")

    def __init__(self, config: AccessLogConfig | None = None) -> None:
        self.configure(config or AccessLogConfig())

    def configure(self, config: AccessLogConfig) -> None:
        on = config.enabled
        self.errors_from = 400 if on else 1000  # statuses stop at 599
        self.slow_seconds = config.slow_ms / 1000 if on else math.inf
        self.sample_rate = config.sample_rate if on else 0.0


class TelemetryMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        access: AccessLogPolicy,
        trace_ratio: float | None = None,  # None: tracing off
        activity: RequestActivity | None = None,  # requests in flight, for the idle collector
    ) -> None:
        self.app = app
        self.observe = metrics.http.observe
        self.access = access
        self.trace_ratio = trace_ratio
        self.activity = activity if activity is not None else RequestActivity()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = _now()
        # One C call, where a loop over a browser's dozen headers costs a dozen Python steps;
        # a repeated header keeps its last value either way.
        headers = dict(scope["headers"])
        request_id = accept_or_generate(headers.get(_HEADER_BYTES))
        token = request_id_var.set(request_id)
        header = (_HEADER_BYTES, request_id.encode())
        status = 500  # what the client sees if the app raises before responding

        # A plain function returning send's awaitable, not a coroutine function: that would
        # create and run one more coroutine per message, two per response.
        def send_with_telemetry(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            return send(message)

        span = None
        if self.trace_ratio is not None:
            traceparent = headers.get(_TRACEPARENT)
            if should_trace(scope["path"], traceparent, self.trace_ratio):
                span = ServerSpan.open(scope["method"], scope["path"], traceparent)
        failure = None
        activity = self.activity
        activity.started()
        try:
            await self.app(scope, receive, send_with_telemetry)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            activity.finished()
            elapsed = _now() - started
            method: str = scope["method"]
            route = route_template(scope)
            self.observe(method, route, status, elapsed, None if span is None else span.trace_id)
            access = self.access
            if (
                status >= access.errors_from
                or elapsed >= access.slow_seconds
                or (access.sample_rate and _random() < access.sample_rate)
            ):
                _log_access(scope, method, route, status, elapsed)  # in the span, for its id
            if span is not None:
                span.close(route, status, failure)
            request_id_var.reset(token)


def _log_access(scope: Scope, method: str, route: str, status: int, elapsed: float) -> None:
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
