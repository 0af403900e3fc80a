"""The in-memory span buffer and the trace-context helpers (seed Q362)."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from leaky_app.tracing import (
    PROPAGATOR,
    RecentSpans,
    caller_sampled,
    extract,
    should_trace,
    trace_id_of,
)


def provider_with(recent: RecentSpans) -> TracerProvider:
    provider = TracerProvider()  # a private one: the process-wide provider is the service's
    provider.add_span_processor(SimpleSpanProcessor(recent))
    return provider


def test_the_buffer_keeps_the_newest_spans_only_and_groups_them_by_trace() -> None:
    recent = RecentSpans(max_spans=10)
    tracer = provider_with(recent).get_tracer("test")
    for n in range(8):
        with (
            tracer.start_as_current_span(f"request {n}", kind=SpanKind.SERVER),
            tracer.start_as_current_span("sqlite SELECT", kind=SpanKind.CLIENT),
        ):
            pass
    records = recent.records()
    assert len(records) == 10  # 16 finished, the oldest 6 dropped
    traces = recent.traces(limit=3)
    assert [t["root"] for t in traces] == ["request 7", "request 6", "request 5"]
    assert all(t["spans"] == 2 for t in traces)
    spans = recent.trace(traces[0]["trace_id"])
    assert [s.name for s in spans] == ["request 7", "sqlite SELECT"]
    assert spans[1].parent_span_id == spans[0].span_id
    assert spans[0].kind == "server" and spans[1].kind == "client"


def test_a_traceparent_round_trips_and_only_sampled_spans_give_an_exemplar() -> None:
    recent = RecentSpans()
    tracer = provider_with(recent).get_tracer("test")
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracer.start_as_current_span("deliver", context=extract(parent)) as span:
        assert trace_id_of(span) == "0af7651916cd43dd8448eb211c80319c"
        carrier: dict[str, str] = {}
        PROPAGATOR.inject(carrier)
        assert carrier["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
    assert recent.records()[0].parent_span_id == "b7ad6b7169203331"
    unsampled = "00-0af7651916cd43dd8448eb211c80319d-b7ad6b7169203331-00"
    with tracer.start_as_current_span("skipped", context=extract(unsampled)) as span:
        assert trace_id_of(span) is None  # the caller did not sample it: no exemplar
    assert extract(None) is None and extract("") is None


def test_requests_are_sampled_before_any_tracing_work() -> None:
    sampled = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    unsampled = sampled[:-2] + b"00"
    assert not should_trace("/x", None, 0.0) and should_trace("/x", None, 1.0)  # the ratio
    assert should_trace("/x", sampled, 0.0)  # the caller sampled it: traced whatever the ratio
    assert not should_trace("/x", unsampled, 1.0)  # the caller did not: untraced
    assert not should_trace("/x", b"garbage", 0.0) and should_trace("/x", b"garbage", 1.0)
    assert not should_trace("/livez", sampled, 1.0)  # probes and scrapes: never
    assert not should_trace("/metrics", None, 1.0)
    traced = sum(should_trace("/x", None, 0.5) for _ in range(4000))
    assert 1600 < traced < 2400
    assert caller_sampled(sampled) is True and caller_sampled(unsampled) is False
    assert caller_sampled(None) is None and caller_sampled(b"00-zz-yy-xx") is None
