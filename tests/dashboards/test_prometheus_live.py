"""The real Prometheus, configured by labctl, scrapes the real service and evaluates the rules."""

import pytest

from tests.integration.load import load
from tests.live import FaultLab, LivePrometheus
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


def test_prometheus_scrapes_the_service_and_records(
    live_prometheus: LivePrometheus, fault_lab: FaultLab
) -> None:
    eventually_sync(
        lambda: [r["value"][1] for r in live_prometheus.query('up{job="leaky-app"}')] == ["1"],
        "the service's metrics port is scraped",
        deadline_s=60,
    )
    with load(fault_lab.service.url, fault_lab.codes, threads=2):
        eventually_sync(
            lambda: bool(
                live_prometheus.query('leaky_app:http_requests:rate1m{route="/{code}"} > 0')
            ),
            "the recording rule sees redirect traffic",
            deadline_s=90,
        )
    rules = live_prometheus.query("ALERTS")
    assert all(r["metric"]["alertstate"] != "firing" for r in rules), rules
