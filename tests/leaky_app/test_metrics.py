import gc
import time

from prometheus_client import CollectorRegistry, generate_latest

from leaky_app.metrics import Metrics
from tests.conftest import InProcessApp
from tests.polling import eventually


def test_no_created_series_and_runtime_families_present() -> None:
    registry = CollectorRegistry()
    Metrics.create(registry)
    text = generate_latest(registry).decode()
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}
    assert names, "no samples exported"
    assert not [n for n in names if n.endswith("_created")]
    for family in (
        "process_resident_memory_bytes",
        "process_open_fds",
        "python_gc_collections_total",
        "python_info",
        "leaky_app_build_info",
    ):
        assert family in text, family


async def test_runtime_metrics_move_in_a_running_app(inproc: InProcessApp) -> None:
    gc.collect(2)
    pauses = inproc.sample("leaky_app_gc_pause_seconds_count", {"generation": "2"})
    assert pauses >= 1
    tasks = inproc.sample("leaky_app_asyncio_tasks")
    assert tasks >= 3  # click flush, loop-lag probe, config watcher (+ this test)
    await inproc.client.post("/api/v1/links", json={"url": "https://e.org"})
    await inproc.client.get("/metrics")
    assert inproc.sample("leaky_app_cache_entries", {"cache": "link_read"}) == 0


async def test_metrics_are_mounted_on_the_service_port(inproc: InProcessApp) -> None:
    response = await inproc.client.get("/metrics")
    assert response.status_code == 200
    assert "leaky_app_http_requests_total" in response.text


async def test_loop_lag_histogram_sees_a_blocked_loop(inproc: InProcessApp) -> None:
    count_before = inproc.sample("leaky_app_event_loop_lag_seconds_count")
    slow_before = count_before - inproc.sample(
        "leaky_app_event_loop_lag_seconds_bucket", {"le": "0.1"}
    )
    time.sleep(0.5)  # noqa: ASYNC251 - block the loop on purpose: the symptom under test
    await eventually(
        lambda: inproc.sample("leaky_app_event_loop_lag_seconds_count") > count_before,
        "the lag probe ticks again",
    )
    slow_after = inproc.sample("leaky_app_event_loop_lag_seconds_count") - inproc.sample(
        "leaky_app_event_loop_lag_seconds_bucket", {"le": "0.1"}
    )
    assert slow_after - slow_before >= 1
