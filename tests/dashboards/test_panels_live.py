"""Every query of every dashboard panel returns data from the real Prometheus scraping the
real service under load (Grafana cannot run here; its queries can)."""

import contextlib

import pytest

from labctl.course.dashboard_catalogue import FAULT_ANNOTATIONS, all_queries
from tests.integration.load import OwnedLinks, load
from tests.live import FaultLab, LivePrometheus
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


def test_every_panel_query_returns_data(
    fault_lab: FaultLab, live_prometheus: LivePrometheus
) -> None:
    queries = all_queries()
    assert len(queries) >= 15
    empty: list[str] = []

    def all_answer() -> bool:
        empty[:] = [f"{uid} / {title}: {expr}" for uid, title, expr in queries
                    if not live_prometheus.query(expr)]  # fmt: skip
        return not empty

    # On timeout, the assertion below names the queries that stayed empty.
    with (
        load(fault_lab.service.url, fault_lab.codes),
        OwnedLinks(fault_lab.service.url, per_second=5),  # emails for the notifier's panels
        contextlib.suppress(AssertionError),
    ):
        eventually_sync(all_answer, "every panel query answers", deadline_s=90)
    assert empty == []


def test_fault_annotation_marks_a_switch(
    fault_lab: FaultLab, live_prometheus: LivePrometheus
) -> None:
    switched = next(a for a in FAULT_ANNOTATIONS if a.name == "Fault switched")

    def marked() -> bool:
        rows = live_prometheus.query(switched.expr)
        return any(r["metric"].get("fault") == "fd_leak" for r in rows)

    fault_lab.switch("fd_leak", "1x")
    try:
        eventually_sync(marked, "the annotation query sees the switch", deadline_s=60)
    finally:
        fault_lab.switch("fd_leak", None)
