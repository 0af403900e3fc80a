"""The RED series read back through prometheus-client, as a scrape sees them."""

from __future__ import annotations

import sys
import threading

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics

from leaky_app.http_metrics import HttpMetrics

BUCKET = "leaky_app_http_request_duration_seconds_bucket"


def test_counts_by_status_and_buckets_are_cumulative_with_inclusive_bounds() -> None:
    registry = CollectorRegistry()
    http = HttpMetrics(registry, (0.01, 0.1))
    for seconds in (0.01, 0.05, 0.1, 3.0):  # on a bound counts in that bucket, as Prometheus's
        http.observe("GET", "/{code}", 302, seconds)
    http.observe("GET", "/{code}", 404, 0.001)

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, {"method": "GET", "route": "/{code}", **labels})

    assert sample("leaky_app_http_requests_total", status="302") == 4
    assert sample("leaky_app_http_requests_total", status="404") == 1
    assert [sample(BUCKET, le=le) for le in ("0.01", "0.1", "+Inf")] == [2, 4, 5]
    assert sample("leaky_app_http_request_duration_seconds_count") == 5
    assert sample("leaky_app_http_request_duration_seconds_sum") == pytest.approx(3.161)
    assert "_created" not in generate_latest(registry).decode()


def test_only_a_traced_request_leaves_an_exemplar_on_its_bucket() -> None:
    registry = CollectorRegistry()
    http = HttpMetrics(registry, (0.01, 0.1))
    http.observe("GET", "/{code}", 302, 0.005)
    http.observe("GET", "/{code}", 302, 0.05, trace_id="ab" * 16)
    text: bytes = openmetrics(registry)  # type: ignore[no-untyped-call]
    lines = [line for line in text.decode().splitlines() if " # {" in line]
    assert len(lines) == 1
    assert 'le="0.1"' in lines[0] and 'trace_id="' + "ab" * 16 in lines[0]


def test_a_route_histogram_sums_its_statuses_and_keeps_the_newest_exemplar() -> None:
    registry = CollectorRegistry()
    http = HttpMetrics(registry, (0.01, 0.1))
    http.observe("GET", "/{code}", 302, 0.05, trace_id="aa" * 16)
    http.observe("GET", "/{code}", 404, 0.06, trace_id="bb" * 16)  # same bucket, later
    http.observe("GET", "/{code}", 302, 0.07)  # untraced: leaves the exemplar alone
    http.observe("POST", "/api/v1/links", 201, 0.002)
    route = {"method": "GET", "route": "/{code}"}
    assert registry.get_sample_value(f"{BUCKET[:-7]}_count", route) == 3
    assert registry.get_sample_value(f"{BUCKET[:-7]}_sum", route) == pytest.approx(0.18)
    assert registry.get_sample_value(BUCKET, {**route, "le": "0.01"}) == 0
    text: bytes = openmetrics(registry)  # type: ignore[no-untyped-call]
    [line] = [line for line in text.decode().splitlines() if " # {" in line]
    assert 'route="/{code}"' in line and 'le="0.1"' in line and "bb" * 16 in line


def test_a_scrape_while_new_series_appear_sees_a_consistent_family() -> None:
    registry = CollectorRegistry()
    http = HttpMetrics(registry, (0.01,))
    done = threading.Event()
    errors: list[BaseException] = []

    def scrape() -> None:
        while not done.is_set():
            try:
                generate_latest(registry)
            except BaseException as exc:
                errors.append(exc)
                return

    scraper = threading.Thread(target=scrape)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL over as often as CPython allows
    scraper.start()
    try:
        for n in range(20_000):
            http.observe("GET", f"/r{n % 2000}", 200 + n % 5, 0.001)
    finally:
        done.set()
        scraper.join(10)
        sys.setswitchinterval(interval)
    assert errors == []
    assert (
        registry.get_sample_value(
            "leaky_app_http_requests_total", {"method": "GET", "route": "/r0", "status": "200"}
        )
        == 10
    )


def test_buckets_must_ascend() -> None:
    with pytest.raises(ValueError, match="ascending"):
        HttpMetrics(CollectorRegistry(), (0.1, 0.01))
