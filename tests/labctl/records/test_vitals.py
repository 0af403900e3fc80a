"""Vital signs over the window between two scrapes, as ``labctl top`` shows them."""

import pytest

from labctl.records.scrape import Scrape
from labctl.records.vitals import Vitals

EXPOSITION = """\
# TYPE leaky_app_http_requests counter
leaky_app_http_requests_total{{method="GET",route="/{{code}}",status="302"}} {ok}
leaky_app_http_requests_total{{method="GET",route="/{{code}}",status="503"}} {bad}
# TYPE leaky_app_http_request_duration_seconds histogram
leaky_app_http_request_duration_seconds_bucket{{method="GET",route="/{{code}}",le="0.1"}} {fast}
leaky_app_http_request_duration_seconds_bucket{{method="GET",route="/{{code}}",le="0.2"}} {all}
leaky_app_http_request_duration_seconds_bucket{{method="GET",route="/{{code}}",le="+Inf"}} {all}
leaky_app_http_request_duration_seconds_count{{method="GET",route="/{{code}}"}} {all}
leaky_app_http_request_duration_seconds_sum{{method="GET",route="/{{code}}"}} 1.0
# TYPE leaky_app_fault_active gauge
leaky_app_fault_active{{fault="gc_churn"}} 1.0
leaky_app_fault_active{{fault="fd_leak"}} 0.0
"""


def exposition(ok: int, bad: int, fast: int) -> str:
    return EXPOSITION.format(ok=ok, bad=bad, fast=fast, all=ok + bad)


def test_rates_and_quantiles_come_from_the_window_between_scrapes() -> None:
    before = Scrape.parse(exposition(ok=1000, bad=0, fast=1000), at=0.0)
    # In 10 s: 90 + 10 requests, half of them within 0.1 s, half between 0.1 and 0.2 s.
    after = Scrape.parse(exposition(ok=1090, bad=10, fast=1050), at=10.0)
    v = Vitals.between(before, after)
    assert v.requests_per_second == pytest.approx(10.0)
    assert v.error_ratio == pytest.approx(0.1)
    assert v.p50_seconds == pytest.approx(0.1)
    assert v.p99_seconds == pytest.approx(0.198)  # as histogram_quantile interpolates
    assert v.active_faults == ["gc_churn"]
    assert v.cpu_percent is None and v.rss_bytes is None  # absent, not zero
