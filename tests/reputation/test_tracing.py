"""One trace crosses the process boundary: the patient's HTTP request, its gRPC client span,
and the reputation service's server span, parent to child, under the caller's trace id."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from labctl.contract import RunLayout
from labctl.stack.ports import free_ports
from labctl.stack.processes import stop
from labctl.stack.reputation_service import start_reputation
from reputation.tracing import ServerSpans
from tests.integration.test_tracing_live import chain_up, new_traceparent, trace_spans
from tests.live import launch
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.polling import eventually_sync


def test_without_a_collector_no_provider_is_made_and_a_call_still_runs() -> None:
    spans = ServerSpans.install(None)
    assert spans.provider is None
    ran = []
    with spans.serving("CheckUrl", [("traceparent", "00-" + "1" * 32 + "-" + "2" * 16 + "-01")]):
        ran.append(True)
    assert ran == [True]


def test_only_a_call_that_carries_a_traceparent_gets_a_span() -> None:
    exporter = InMemorySpanExporter()
    spans = ServerSpans.install(exporter=exporter)
    assert spans.provider is not None
    with spans.serving("CheckHost", [("authorization", "Bearer x")]):
        pass
    parent = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    with spans.serving("CheckHost", (("traceparent", parent),)):
        pass
    spans.provider.force_flush()
    (span,) = exporter.get_finished_spans()
    assert span.name == "lab.reputation.v1.Reputation/CheckHost"
    assert span.parent is not None and f"{span.parent.span_id:016x}" == "b" * 16
    assert f"{span.context.trace_id:032x}" == "a" * 32
    spans.shutdown()


@pytest.mark.integration
def test_the_trace_goes_from_the_request_through_the_grpc_call_into_the_service(
    tmp_path: Path,
) -> None:
    layout = RunLayout(tmp_path)
    with OtlpReceiver() as receiver:
        reputation = start_reputation(layout, *free_ports(2),
                                      extra_args=["--otlp-endpoint", receiver.url])  # fmt: skip
        try:
            args = ["--reputation-target", reputation.urls["grpc"],
                    "--reputation-pki", str(layout.pki)]  # fmt: skip
            service = launch(tmp_path, args)
            try:
                header, trace_id, caller_span = new_traceparent()
                with service.client() as client:
                    created = client.post("/api/v1/links", json={"url": "https://t.example.org/"},
                                          headers={"traceparent": header})  # fmt: skip
                assert created.status_code == 201, created.text

                def grpc_client_span() -> dict[str, object] | None:
                    return next((s for s in trace_spans(service, trace_id)
                                 if s["name"] == "reputation CheckUrl"), None)  # fmt: skip

                eventually_sync(lambda: grpc_client_span() is not None, "the client span")
                leaf = grpc_client_span()
                assert leaf is not None and leaf["kind"] == "client"
                chain = chain_up(trace_spans(service, trace_id), leaf)
                assert [s["name"] for s in chain] == ["reputation CheckUrl", "POST /api/v1/links"]
                assert chain[-1]["parent_span_id"] == caller_span

                def served() -> list[ReceivedSpan]:
                    return [s for s in receiver.spans() if s.service == "reputation"
                            and s.trace_id == trace_id]  # fmt: skip

                eventually_sync(lambda: bool(served()), "the service's span at the collector", 20)
                (span,) = served()
                assert span.name == "lab.reputation.v1.Reputation/CheckUrl"
                assert span.parent_span_id == leaf["span_id"]
            finally:
                service.stop()
        finally:
            stop(reputation)
