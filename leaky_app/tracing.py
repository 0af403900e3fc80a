"""Distributed tracing with the OpenTelemetry SDK (seed Q362).

What gets a span:

* sampled HTTP requests (not health probes or ``/metrics``): the telemetry middleware opens
  the server span, continuing the caller's W3C ``traceparent`` when there is one (see
  :func:`should_trace` for the sampling, and why it comes first);
* every SQLite statement and transaction made while a span is recording (the background
  loops' polling makes none, so they do not flood the buffer with one-span traces);
* staging a notice in the outbox (a producer span), whose context is stored in the outbox row;
* the worker's delivery of that notice (a consumer span whose parent is the stored context, so
  the email sent seconds later, by another task, after a restart even, is in the request's
  trace), and each SMTP transaction under it.

Where spans go: always to :class:`RecentSpans`, a bounded in-memory buffer served on the debug
port at ``/debug/traces``; and to an OTLP/HTTP collector when ``--otlp-endpoint`` (or
``OTEL_EXPORTER_OTLP_ENDPOINT``) is set. The trace id of a sampled request is the exemplar of
its observation in the latency histogram (OpenMetrics exposition), so a slow bucket in
Grafana links to a trace.

The tracer provider is process-wide, as OpenTelemetry's API expects: the first app created in
a process installs it (:func:`install`), later ones reuse it.

Usage::

    tracing = install(settings)
    with TRACER.start_as_current_span("work"):
        ...
    tracing.recent.traces(limit=20)
"""

from __future__ import annotations

import logging
import random
import threading
from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import Token
from dataclasses import asdict, dataclass
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from leaky_app import __version__

log = logging.getLogger(__name__)

TRACER = trace.get_tracer("leaky_app", __version__)
PROPAGATOR = TraceContextTextMapPropagator()
TRACEPARENT = "traceparent"


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """A finished span as ``/debug/traces`` shows it."""

    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    start_unix_nano: int
    duration_ms: float
    status: str
    attributes: dict[str, Any]

    @classmethod
    def of(cls, span: ReadableSpan) -> SpanRecord:
        ctx = span.get_span_context()
        parent = span.parent
        start, end = span.start_time or 0, span.end_time or 0
        return cls(
            name=span.name,
            kind=span.kind.name.lower(),
            trace_id=f"{ctx.trace_id:032x}" if ctx else "",
            span_id=f"{ctx.span_id:016x}" if ctx else "",
            parent_span_id=f"{parent.span_id:016x}" if parent else None,
            start_unix_nano=start,
            duration_ms=(end - start) / 1e6,
            status=span.status.status_code.name.lower(),
            attributes=dict(span.attributes or {}),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RecentSpans(SpanExporter):
    """The in-memory exporter: the last ``max_spans`` finished spans, oldest dropped first.

    Each span is kept as a compact :class:`SpanRecord`, made when the span ends (traced
    requests only): the SDK's own span object, with its resource, scope and attribute
    bookkeeping, is about 2.8 KiB, and a buffer of those took minutes of sampled traffic to
    fill, which a soak test read as memory growth.
    """

    def __init__(self, max_spans: int = 1000) -> None:
        self._spans: deque[SpanRecord] = deque(maxlen=max_spans)
        self._lock = threading.Lock()  # export runs on the service loop, reads on the debug one

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        records = [SpanRecord.of(s) for s in spans]
        with self._lock:
            self._spans.extend(records)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._spans.clear()

    def records(self) -> list[SpanRecord]:
        with self._lock:
            return list(self._spans)

    def trace(self, trace_id: str) -> list[SpanRecord]:
        """Every buffered span of one trace, in start order."""
        spans = [r for r in self.records() if r.trace_id == trace_id]
        return sorted(spans, key=lambda r: r.start_unix_nano)

    def traces(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest ``limit`` traces: id, root span name, span count, duration."""
        grouped: OrderedDict[str, list[SpanRecord]] = OrderedDict()
        for record in sorted(self.records(), key=lambda r: r.start_unix_nano, reverse=True):
            grouped.setdefault(record.trace_id, []).append(record)
        out = []
        for trace_id, spans in list(grouped.items())[:limit]:
            ids = {s.span_id for s in spans}
            root = min(
                (s for s in spans if s.parent_span_id not in ids),
                key=lambda s: s.start_unix_nano,
            )
            end = max(s.start_unix_nano + s.duration_ms * 1e6 for s in spans)
            out.append(
                {
                    "trace_id": trace_id,
                    "root": root.name,
                    "spans": len(spans),
                    "duration_ms": round((end - root.start_unix_nano) / 1e6, 3),
                    "start_unix_nano": root.start_unix_nano,
                }
            )
        return out


@dataclass(frozen=True)
class Tracing:
    provider: TracerProvider
    recent: RecentSpans
    otlp_endpoint: str | None

    def flush(self, timeout_millis: int = 5000) -> None:
        self.provider.force_flush(timeout_millis)


_installed: Tracing | None = None
_install_lock = threading.Lock()


def install(
    buffer_spans: int = 1000,
    otlp_endpoint: str | None = None,
    service_name: str = "leaky-app",
) -> Tracing:
    """Install the process's tracer provider once; later calls return the first one."""
    global _installed
    with _install_lock:
        if _installed is not None:
            return _installed
        provider = TracerProvider(
            resource=Resource.create(
                {"service.name": service_name, "service.version": __version__}
            ),
            # Requests are sampled before a span starts (should_trace); whatever starts a span
            # here is wanted, and its children follow it.
            sampler=ParentBased(ALWAYS_ON),
        )
        recent = RecentSpans(buffer_spans)
        provider.add_span_processor(SimpleSpanProcessor(recent))
        if otlp_endpoint:
            # Imported here: the exporter pulls in protobuf, which a lab without a collector
            # need not load.
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            endpoint = otlp_endpoint.rstrip("/") + "/v1/traces"
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
            log.info("exporting traces to %s", endpoint)
        trace.set_tracer_provider(provider)
        _installed = Tracing(provider, recent, otlp_endpoint)
        return _installed


UNTRACED_PATHS = frozenset({"/livez", "/readyz", "/metrics", "/metrics/"})
# FastAPI's native OpenTelemetry layer stays off: the telemetry middleware opens the server
# span itself, after its own sampling decision (see should_trace).
FASTAPI_TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def caller_sampled(traceparent: bytes | None) -> bool | None:
    """The sampled flag of an incoming W3C ``traceparent``; None without a valid one."""
    if traceparent is None:
        return None
    parts = traceparent.split(b"-")
    if len(parts) != 4 or len(parts[3]) != 2:
        return None
    try:
        return bool(int(parts[3], 16) & 1)
    except ValueError:
        return None


def should_trace(path: str, traceparent: bytes | None, sample_ratio: float) -> bool:
    """Whether a request gets a server span: a caller's ``traceparent`` decides for its
    request; without one, ``sample_ratio`` does. Health probes and scrapes never.

    Decided before any OpenTelemetry call, because the calls are what costs: measured in
    ``bench/results/instrumentation_overhead.md``, FastAPI's native tracing layer took a tenth
    of redirect throughput even for requests its ``exclude`` hook then skipped, and a third
    for every traced one. An untraced request here pays one ``random()``.
    """
    if traceparent is None:  # the usual case first: one random() and, rarely, a set lookup
        return random.random() < sample_ratio and path not in UNTRACED_PATHS  # noqa: S311
    if path in UNTRACED_PATHS:
        return False
    sampled = caller_sampled(traceparent)
    if sampled is not None:
        return sampled
    return random.random() < sample_ratio  # noqa: S311 - sampling, not security


def recording() -> bool:
    """Whether a sampled span is current (the place to decide if a child span is worth it)."""
    return trace.get_current_span().is_recording()


def inject_current() -> str | None:
    """The current span's context as a W3C ``traceparent`` value, to store or send on."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


def extract(traceparent: str | None) -> otel_context.Context | None:
    """A context whose current span is the remote parent that ``traceparent`` names."""
    if not traceparent:
        return None
    return PROPAGATOR.extract({TRACEPARENT: traceparent})


def trace_id_of(span: Span) -> str | None:
    """The hex trace id of a sampled span (an exemplar's value), else None."""
    ctx = span.get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid and ctx.trace_flags.sampled else None


class ServerSpan:
    """The server span of one sampled request, current from :meth:`open` to :meth:`close`.

    What ``TRACER.start_as_current_span`` does, split in two so that the telemetry middleware
    runs one code path for traced and untraced requests (a ``with`` block would need two)::

        span = ServerSpan.open("GET", "/abc", traceparent=None)
        try:
            ...  # the app; its spans are children of this one
        finally:
            span.close("/{code}", 302, failure=None)
    """

    __slots__ = ("_token", "method", "span")

    def __init__(self, span: Span, token: Token[otel_context.Context], method: str) -> None:
        self.span = span
        self.method = method
        self._token = token

    @classmethod
    def open(cls, method: str, path: str, traceparent: bytes | None) -> ServerSpan:
        span = TRACER.start_span(
            method,  # renamed "GET /{code}" on close, once routing has matched
            context=extract(traceparent.decode("latin-1") if traceparent else None),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        )
        return cls(span, otel_context.attach(trace.set_span_in_context(span)), method)

    @property
    def trace_id(self) -> str | None:
        return trace_id_of(self.span)

    def close(self, route: str, status: int, failure: BaseException | None) -> None:
        """Name the span for its route, record the outcome, end it and make it not current.
        ``failure``: what the app raised (recorded as ``start_as_current_span`` would)."""
        span = self.span
        span.update_name(f"{self.method} {route}")
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if isinstance(failure, Exception):  # not CancelledError or GeneratorExit: not errors
            span.record_exception(failure)
            span.set_status(Status(StatusCode.ERROR, f"{type(failure).__name__}: {failure}"))
        elif status >= 500:
            span.set_status(StatusCode.ERROR)
        otel_context.detach(self._token)
        span.end()


@contextmanager
def child_span(
    name: str, kind: SpanKind = SpanKind.INTERNAL, attributes: Mapping[str, Any] | None = None
) -> Iterator[Span | None]:
    """A span under the current one, only when the current one is recording: work done by
    background loops outside any trace makes none."""
    if not recording():
        yield None
        return
    with TRACER.start_as_current_span(name, kind=kind, attributes=attributes) as span:
        yield span
