"""The reputation service's spans (seed Q362): each call a caller traced arrives with a W3C
``traceparent`` in its metadata, and its server span continues that trace, so one trace goes
from the patient's HTTP request through its gRPC client span into this process. Spans go to an
OTLP/HTTP collector when ``--otlp-endpoint`` is set (this service has no debug surface of its
own); untraced calls make no span at all.

Usage::

    spans = ServerSpans.install(otlp_endpoint="http://127.0.0.1:4318")
    with spans.serving("CheckUrl", metadata):
        ...
    spans.shutdown()
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from reputation import policy

TRACEPARENT = "traceparent"
_PROPAGATOR = TraceContextTextMapPropagator()


@dataclass
class ServerSpans:
    provider: TracerProvider | None  # None: nothing to export to, so no spans are made

    @classmethod
    def install(
        cls, otlp_endpoint: str | None = None, exporter: SpanExporter | None = None
    ) -> ServerSpans:
        """A provider exporting to ``otlp_endpoint`` (or to ``exporter``, for a test)."""
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/traces")
        if exporter is None:
            return cls(None)
        provider = TracerProvider(resource=Resource.create({"service.name": policy.SERVER_NAME}))
        provider.add_span_processor(BatchSpanProcessor(exporter))
        return cls(provider)

    @contextmanager
    def serving(self, method: str, metadata: Iterable[Any] | None) -> Iterator[None]:
        """The server span of one call, when the caller sent a ``traceparent``; ``metadata``
        is the call's invocation metadata, (key, value) pairs."""
        parent = next((pair[1] for pair in metadata or () if pair[0] == TRACEPARENT), None)
        if self.provider is None or not isinstance(parent, str):
            yield
            return
        context = _PROPAGATOR.extract({TRACEPARENT: parent})
        tracer = self.provider.get_tracer("reputation")
        attributes = {"rpc.system": "grpc", "rpc.service": policy.SERVICE, "rpc.method": method}
        with tracer.start_as_current_span(
            f"{policy.SERVICE}/{method}", context=context, kind=SpanKind.SERVER,
            attributes=attributes,
        ):  # fmt: skip
            yield

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()
