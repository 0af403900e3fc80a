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
    # A clean run raises nothing, not even a pending alert.
    assert live_prometheus.query("ALERTS") == []


# (fault, intensity, alert it must raise, deadline in seconds) — documented in
# dashboards/prometheus/README.md; adding a row is adding a case.
# Order matters a little: switching unbounded_cache off runs a full collection of a large
# heap, a real gen-2 pause that GCPauseHigh reports for a minute, so it goes last.
ALERT_MATRIX = [
    ("cpu_hotloop", "100x", "CPUSaturated", 150),
    ("gc_churn", "10x", "GCPauseHigh", 150),
    ("task_leak", "10x", "TasksGrowing", 150),
    ("unbounded_cache", "10x", "MemoryGrowing", 150),
]


@pytest.mark.parametrize(("fault", "intensity", "alert", "deadline"), ALERT_MATRIX)
def test_each_core_fault_fires_its_alert_in_time(
    live_prometheus: LivePrometheus,
    fault_lab: FaultLab,
    fault: str,
    intensity: str,
    alert: str,
    deadline: int,
) -> None:
    firing = f'ALERTS{{alertname="{alert}",alertstate="firing"}}'
    eventually_sync(
        lambda: not live_prometheus.query(firing), f"{alert} quiet before the fault", 120
    )
    fault_lab.switch(fault, intensity)
    try:
        with load(fault_lab.service.url, fault_lab.codes):
            took = eventually_sync(
                lambda: bool(live_prometheus.query(firing)), f"{alert} fires", deadline_s=deadline
            )
    finally:
        fault_lab.switch(fault, None)
    assert took <= deadline
