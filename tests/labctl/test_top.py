"""``labctl top``: vitals from two scrapes of /metrics, checked against the load that made
them and against a fault's symptom in the same run."""

import json

import pytest

from labctl.cli import main
from labctl.records.scrape import Scrape, bucket_quantile
from labctl.records.vitals import Vitals
from tests.integration.load import load
from tests.labctl.cli_surface import check_json
from tests.live import FaultLab

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


def test_a_quantile_past_the_last_finite_bucket_is_that_bound() -> None:
    assert bucket_quantile(0.99, {}, {0.5: 1.0, float("inf"): 100.0}) == 0.5
    assert (
        bucket_quantile(0.5, {0.5: 3.0, float("inf"): 3.0}, {0.5: 3.0, float("inf"): 3.0}) is None
    )


def top_once(run_dir: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    args = ["top", "--run-dir", run_dir, "--frames", "1", "--interval", "3", "--json"]
    assert main(args) == 0
    body: dict[str, object] = json.loads(capsys.readouterr().out)
    check_json("top", body)
    return body


def cpu_per_request(v: dict[str, object]) -> float:
    cpu, rps = v["cpu_percent"], v["requests_per_second"]
    assert isinstance(cpu, float) and isinstance(rps, float) and rps > 0
    return cpu / rps


@pytest.mark.integration
def test_top_counts_the_load_and_shows_a_hot_loops_cpu_per_request(
    fault_lab: FaultLab, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = str(fault_lab.service.run_dir)
    fault_lab.all_off()
    with load(fault_lab.service.url, fault_lab.codes, threads=2) as driver:
        sent = driver.stats.requests
        clean = top_once(run_dir, capsys)
        sent = driver.stats.requests - sent
        fault_lab.switch("cpu_hotloop", "10x")
        try:
            hot = top_once(run_dir, capsys)
            assert main(["top", "--run-dir", run_dir, "--frames", "1", "--interval", "1"]) == 0
            screen = capsys.readouterr().out
        finally:
            fault_lab.switch("cpu_hotloop", None)
    rps = clean["requests_per_second"]
    assert isinstance(rps, float)
    # The driver's count spans the two scrapes and a little more (the command's start).
    assert 0.5 < rps * 3 / sent < 1.5, (rps, sent)
    assert isinstance(clean["rss_bytes"], float) and clean["rss_bytes"] > 10 * 2**20
    assert isinstance(clean["open_fds"], float) and clean["open_fds"] > 0
    assert cpu_per_request(hot) > 3 * cpu_per_request(clean), (hot, clean)
    assert hot["active_faults"] == ["cpu_hotloop"]
    assert "requests/s" in screen and "cpu_hotloop" in screen
