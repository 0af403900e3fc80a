"""Tracing (seed Q362) on real processes: a request's trace continues across the outbox and
the in-memory queue into the worker's SMTP send; its trace id is an exemplar on the latency
histogram and in its log lines; spans reach an OTLP/HTTP endpoint when one is configured."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from labctl.contract import RunLayout
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import stop
from labctl.stack.service import start_service
from tests.live import LivePrometheus, LiveService
from tests.otlp_receiver import OtlpReceiver
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


def new_traceparent() -> tuple[str, str, str]:
    """A sampled W3C traceparent as a client would send it: (header, trace id, span id)."""
    trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def trace_spans(service: LiveService, trace_id: str) -> list[dict[str, Any]]:
    with service.debug_client() as debug:
        response = debug.get(f"/debug/traces/{trace_id}")
    if response.status_code == 404:
        return []
    response.raise_for_status()
    spans: list[dict[str, Any]] = response.json()["spans"]
    return spans


def chain_up(spans: list[dict[str, Any]], leaf: dict[str, Any]) -> list[dict[str, Any]]:
    """``leaf`` and its ancestors, leaf first, as far as the buffer has them."""
    by_id = {s["span_id"]: s for s in spans}
    chain = [leaf]
    while chain[-1]["parent_span_id"] in by_id:
        chain.append(by_id[chain[-1]["parent_span_id"]])
    return chain


def test_the_email_is_sent_in_the_trace_of_the_request_that_created_the_link(
    live_service: LiveService,
) -> None:
    header, trace_id, client_span = new_traceparent()
    with live_service.client() as client:
        created = client.post(
            "/api/v1/links",
            json={"url": "https://traced.example/a", "owner_email": "traced@example.org"},
            headers={"traceparent": header},
        )
    assert created.status_code == 201, created.text

    def smtp_span() -> dict[str, Any] | None:
        return next(
            (s for s in trace_spans(live_service, trace_id) if s["name"] == "smtp send"), None
        )

    eventually_sync(lambda: smtp_span() is not None, "the SMTP send in the request's trace", 30)
    spans = trace_spans(live_service, trace_id)
    leaf = smtp_span()
    assert leaf is not None
    chain = chain_up(spans, leaf)
    names = [s["name"] for s in chain]
    # Worker side (another task, seconds later) up through the queue into the request.
    assert names == [
        "smtp send",
        "notify deliver",
        "outbox stage",
        "sqlite TRANSACTION",
        "POST /api/v1/links",
    ], names
    assert [s["kind"] for s in chain] == ["client", "consumer", "producer", "client", "server"]
    assert {s["trace_id"] for s in spans} == {trace_id}
    assert chain[-1]["parent_span_id"] == client_span  # the caller's span is the root's parent
    assert chain[-1]["attributes"]["http.response.status_code"] == 201
    code = created.json()["code"]
    # And the mail did arrive: the trace describes a real delivery.
    eventually_sync(
        lambda: code in {k.split(":")[1] for k in live_service.mailbox.delivered_keys()},
        "the notice in the sink",
    )


def test_the_trace_id_is_an_exemplar_and_in_the_log_line(live_service: LiveService) -> None:
    header, trace_id, _ = new_traceparent()
    with live_service.client() as client:
        assert (
            client.get("/api/v1/links/nothere", headers={"traceparent": header}).status_code == 404
        )
    text = httpx.get(
        live_service.metrics_url,
        headers={"Accept": "application/openmetrics-text; version=1.0.0"},
        timeout=10,
    ).text
    exemplar_lines = [
        line for line in text.splitlines()
        if line.startswith("leaky_app_http_request_duration_seconds_bucket")
        and 'route="/api/v1/links/{code}"' in line and f'trace_id="{trace_id}"' in line
    ]  # fmt: skip
    assert exemplar_lines, "no exemplar carries the request's trace id"

    def logged() -> list[dict[str, Any]]:
        lines = live_service.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(l) for l in lines if trace_id in l]  # noqa: E741

    eventually_sync(lambda: bool(logged()), "a log line with the trace id")
    line = logged()[0]
    assert line["trace_id"] == trace_id
    assert line["status"] == 404  # the access log line of that very request


def test_spans_reach_an_otlp_endpoint_and_new_traces_follow_the_sample_ratio(
    tmp_path: Path,
) -> None:
    with OtlpReceiver() as receiver:
        record = start_service(
            RunLayout(tmp_path),
            ServicePorts.free(),
            extra_args=["--otlp-endpoint", receiver.url, "--trace-sample-ratio", "0",
                        "--no-notify-enabled"],
        )  # fmt: skip
        try:
            header, trace_id, client_span = new_traceparent()
            with httpx.Client(base_url=record.urls["api"], timeout=10) as client:
                for _ in range(20):
                    assert client.get("/api/v1/links/unsampled").status_code == 404
                assert (
                    client.get("/api/v1/links/sampled", headers={"traceparent": header}).status_code
                    == 404
                )
            eventually_sync(
                lambda: any(s.trace_id == trace_id for s in receiver.spans()),
                "the sampled request's span at the OTLP endpoint",
                30,
            )
        finally:
            stop(record)  # the service flushes its batch on shutdown
        server = [s for s in receiver.spans() if s.name.startswith("GET ")]
    # Ratio 0: only the request whose caller sampled it was traced.
    assert {s.trace_id for s in server} == {trace_id}
    assert [s.name for s in server] == ["GET /api/v1/links/{code}"]
    assert server[0].parent_span_id == client_span
    assert server[0].service == "leaky-app"


def test_prometheus_keeps_the_trace_id_exemplar(
    live_service: LiveService, live_prometheus: LivePrometheus
) -> None:
    header, trace_id, _ = new_traceparent()
    with live_service.client() as client:
        client.get("/api/v1/links/exemplar", headers={"traceparent": header})
    started = time.time()

    def exemplar_trace_ids() -> set[str]:
        response = httpx.get(
            f"{live_prometheus.url}/api/v1/query_exemplars",
            params={
                "query": "leaky_app_http_request_duration_seconds_bucket",
                "start": started - 120,
                "end": time.time() + 60,
            },
            timeout=10,
        )
        response.raise_for_status()
        return {
            e["labels"].get("trace_id", "")
            for series in response.json()["data"]
            for e in series["exemplars"]
        }

    # Scraped every 5 s with OpenMetrics; a slow CI machine gets a minute.
    eventually_sync(lambda: trace_id in exemplar_trace_ids(), "the exemplar in Prometheus", 60)


def test_the_trace_endpoints_refuse_bad_input_clearly(live_service: LiveService) -> None:
    with live_service.debug_client() as debug:
        bad = debug.get("/debug/traces/not-a-trace-id")
        assert bad.status_code == 400 and "32 hex" in bad.json()["message"]
        missing = debug.get(f"/debug/traces/{'0' * 32}")
        assert missing.status_code == 404 and "buffer" in missing.json()["message"]
        assert debug.get("/debug/traces", params={"limit": 0}).status_code == 400
        newest = debug.get("/debug/traces", params={"limit": 2})
        assert newest.status_code == 200 and len(newest.json()["traces"]) <= 2
    assert httpx.get(f"{live_service.debug_url}/debug/traces", timeout=10).status_code == 401
