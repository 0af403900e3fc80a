import json
import logging
import math
import re

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.types import Receive, Scope, Send

from leaky_app.context import current_request_id
from leaky_app.logs import RequestIdFilter
from leaky_app.metrics import UNMATCHED_ROUTE, Metrics
from leaky_app.middleware.telemetry import AccessLogPolicy, TelemetryMiddleware
from leaky_app.settings import AccessLogConfig
from leaky_app.tracing import install as install_tracing
from tests.conftest import InProcessApp
from tests.polling import eventually


async def test_incoming_id_is_echoed(inproc: InProcessApp) -> None:
    response = await inproc.client.get("/livez", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_missing_or_unsafe_id_is_replaced(inproc: InProcessApp) -> None:
    plain = await inproc.client.get("/livez")
    unsafe = await inproc.client.get("/livez", headers={"X-Request-ID": "a b\tc"})
    ids = {plain.headers["x-request-id"], unsafe.headers["x-request-id"]}
    assert len(ids) == 2
    assert all(re.fullmatch(r"[0-9a-f]{12}-[0-9]+", i) for i in ids), ids


async def test_error_bodies_carry_the_same_id(inproc: InProcessApp) -> None:
    response = await inproc.client.get("/missing-code", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 404
    assert response.json()["request_id"] == "trace-me"
    assert response.headers["x-request-id"] == "trace-me"


async def test_access_log_keeps_errors_and_samples_successes(
    inproc: InProcessApp, caplog: pytest.LogCaptureFixture
) -> None:
    code = (await inproc.client.post("/api/v1/links", json={"url": "https://e.org"})).json()["code"]
    watcher = inproc.app.state.services.config

    def access_lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "leaky_app.access"]

    with caplog.at_level(logging.INFO, logger="leaky_app.access"):
        inproc.settings.flags_file.write_text(json.dumps({"access_log": {"sample_rate": 0}}))
        await eventually(lambda: watcher.current.access_log.sample_rate == 0, "sampling off")
        caplog.clear()
        for _ in range(20):
            await inproc.client.get(f"/{code}")
        await inproc.client.get("/unknown-code")
        assert [r.status for r in access_lines()] == [404]  # type: ignore[attr-defined]

        inproc.settings.flags_file.write_text(json.dumps({"access_log": {"sample_rate": 1}}))
        await eventually(lambda: watcher.current.access_log.sample_rate == 1, "sampling all")
        caplog.clear()
        for _ in range(5):
            await inproc.client.get(f"/{code}", headers={"X-Request-ID": "sampled"})
        lines = access_lines()
        assert len(lines) == 5
        assert {r.route for r in lines} == {"/{code}"}  # type: ignore[attr-defined]
        assert {r.status for r in lines} == {302}  # type: ignore[attr-defined]


async def test_a_traced_request_that_raises_is_counted_logged_and_its_span_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("store down")

    registry = CollectorRegistry()
    recent = install_tracing().recent
    middleware = TelemetryMiddleware(
        broken, Metrics.create(registry, runtime_collectors=False), AccessLogPolicy(), 1.0
    )
    transport = httpx.ASGITransport(app=middleware, raise_app_exceptions=False)
    caplog.handler.addFilter(RequestIdFilter())  # what the service's JSON handler stamps
    with caplog.at_level(logging.INFO, logger="leaky_app.access"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    labels = {"method": "GET", "route": UNMATCHED_ROUTE, "status": "500"}
    assert registry.get_sample_value("leaky_app_http_requests_total", labels) == 1
    [line] = [r for r in caplog.records if r.name == "leaky_app.access"]
    assert (line.status, line.request_id) == (500, "boom-1")  # type: ignore[attr-defined]
    [span] = [s for s in recent.records() if s.attributes.get("url.path") == "/boom"]
    assert (span.name, span.status, span.kind) == (f"GET {UNMATCHED_ROUTE}", "error", "server")
    assert span.attributes["http.response.status_code"] == 500
    assert line.trace_id == span.trace_id  # type: ignore[attr-defined]
    assert current_request_id() is None  # the request's id did not outlive it


def test_the_access_log_policy_reads_the_config_as_thresholds() -> None:
    policy = AccessLogPolicy(AccessLogConfig(sample_rate=0.5, slow_ms=100))
    assert (policy.errors_from, policy.slow_seconds, policy.sample_rate) == (400, 0.1, 0.5)
    policy.configure(AccessLogConfig(enabled=False, sample_rate=0.5))
    assert policy.errors_from > 599 and policy.slow_seconds == math.inf
    assert policy.sample_rate == 0
