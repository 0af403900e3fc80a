"""``/metrics`` on the API port (no metrics thread): the page is built while the event loop
goes on running, a flood of scrapes is refused with 429, and with the metrics thread on the
API port serves none."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from prometheus_client import make_asgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from labctl.stack.ports import free_port
from leaky_app.api.scrape import SCRAPE_BURST
from tests.conftest import InProcessApp, in_process, make_settings

BUILD_SECONDS = 0.3


class SlowToCollect(Collector):
    """A registry as slow to render as one a cardinality explosion grew: pure-Python work."""

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        while time.perf_counter() - started < BUILD_SECONDS:
            pass
        yield GaugeMetricFamily("lab_slow_to_collect", "a page that takes a while", value=1)


async def _longest_stall(scrape: httpx.AsyncClient, path: str = "/metrics") -> tuple[float, int]:
    """The longest the event loop went without running a task that only yields, while one
    scrape was built; and the scrape's status."""
    last = time.perf_counter()
    longest = 0.0

    async def ticker() -> None:
        nonlocal last, longest
        while True:
            now = time.perf_counter()
            longest, last = max(longest, now - last), now
            await asyncio.sleep(0)

    loop = asyncio.get_running_loop()
    # The suite's asyncio debug mode stats source files for each callback's traceback; each
    # stat gives the GIL away to the building thread for a switch interval. A service runs
    # without it.
    debug = loop.get_debug()
    loop.set_debug(False)
    task = asyncio.create_task(ticker())
    try:
        await asyncio.sleep(0)
        longest = 0.0
        response = await scrape.get(path)
        await asyncio.sleep(0)  # the tick that ends the last stall
        return longest, response.status_code
    finally:
        task.cancel()
        loop.set_debug(debug)


async def test_the_page_is_built_while_the_loop_goes_on(inproc: InProcessApp) -> None:
    inproc.registry.register(SlowToCollect())
    stall, status = await _longest_stall(inproc.client)
    assert status == 200
    # The control: prometheus-client's ASGI app builds on the loop, where nothing else runs.
    own = httpx.AsyncClient(transport=httpx.ASGITransport(app=make_asgi_app(inproc.registry)),
                            base_url="http://metrics.test")  # fmt: skip
    async with own:
        on_loop, on_loop_status = await _longest_stall(own, "/")
    assert on_loop_status == 200
    assert on_loop >= 0.8 * BUILD_SECONDS  # the whole build, in one stall
    assert stall * 4 < on_loop, (stall, on_loop)


async def test_a_flood_of_scrapes_is_refused_with_429_and_counted(inproc: InProcessApp) -> None:
    statuses = [(await inproc.client.get("/metrics")).status_code for _ in range(SCRAPE_BURST)]
    assert statuses == [200] * SCRAPE_BURST
    refused = await inproc.client.get("/metrics")
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert "--metrics-port" in refused.json()["message"]
    counted = inproc.sample("leaky_app_rate_limited_requests_total", {"route": "/metrics"})
    assert counted == 1


async def test_one_scrape_at_a_time(inproc: InProcessApp) -> None:
    inproc.registry.register(SlowToCollect())
    first, second = await asyncio.gather(
        inproc.client.get("/metrics"), inproc.client.get("/metrics")
    )
    assert sorted([first.status_code, second.status_code]) == [200, 429]
    busy = first if first.status_code == 429 else second
    assert "busy with another scrape" in busy.json()["message"]


async def test_with_the_metrics_thread_on_the_api_port_serves_no_metrics(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, metrics_port=free_port())
    async with in_process(settings) as app:
        assert (await app.client.get("/metrics")).status_code == 404
        async with httpx.AsyncClient() as client:  # the thread's port serves them
            page = await client.get(f"http://127.0.0.1:{settings.metrics_port}/metrics")
        assert page.status_code == 200 and "leaky_app_build_info" in page.text
