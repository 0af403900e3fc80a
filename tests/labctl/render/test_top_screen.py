"""``labctl top``'s screen: values past the alert lines are marked."""

from dataclasses import replace

from labctl.records.vitals import Vitals
from labctl.render.top_screen import vitals_table

CALM = Vitals(
    seconds=2.0, requests_per_second=30.0, p50_seconds=0.002, p99_seconds=0.01,
    error_ratio=0.0, cpu_percent=20.0, rss_bytes=80 * 2**20, tasks=40.0,
    loop_lag_p99_seconds=0.001, gc_collections_per_second=3.0, gc_pause_p99_seconds=0.002,
    cache_entries={"links": 20.0}, open_fds=30.0, max_fds=1024.0, active_faults=[],
)  # fmt: skip


def cells(v: Vitals) -> dict[str, str]:
    table = vitals_table(v, "t")
    names, values = (list(c.cells) for c in table.columns)
    return dict(zip([str(n) for n in names], [str(x) for x in values], strict=True))


def test_a_calm_service_has_nothing_marked() -> None:
    assert not any("red" in value for value in cells(CALM).values())
    assert cells(CALM)["open fds"] == "30 of 1024"


def test_symptoms_past_their_lines_are_red() -> None:
    hot = cells(replace(CALM, cpu_percent=95.0, p99_seconds=0.5, active_faults=["cpu_hotloop"]))
    assert "red" in hot["CPU"] and "red" in hot["latency p99"] and "red" in hot["faults on"]
    assert "red" not in hot["RSS"]
