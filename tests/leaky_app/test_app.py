"""Wiring of create_app: hot reload reaches the limiter, /metrics thread survives a blocked loop."""

import json
import threading
import time
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from labctl.stack.ports import free_port
from leaky_app.app import create_app
from tests.conftest import InProcessApp, make_settings
from tests.polling import eventually


async def test_rate_limit_429_with_retry_after_and_hot_reload(inproc: InProcessApp) -> None:
    for _ in range(20):
        assert (await inproc.client.get("/api/v1/links/x")).status_code == 404
    inproc.settings.flags_file.write_text(json.dumps({"rate_limit": {"rps": 0.5, "burst": 2}}))
    services = inproc.app.state.services
    await eventually(lambda: services.limiter.config.burst == 2, "flags file change applied")
    statuses = [(await inproc.client.get("/api/v1/links/x")).status_code for _ in range(5)]
    assert statuses[:2] == [404, 404]
    assert statuses[2:] == [429, 429, 429]
    limited = await inproc.client.get("/api/v2/links/x")
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    # Health probes are never rate limited.
    assert (await inproc.client.get("/livez")).status_code == 200
    assert (
        inproc.sample("leaky_app_rate_limited_requests_total", {"route": "/api/v1/links/{code}"})
        == 3
    )
    assert inproc.sample("leaky_app_config_reloads_total", {"result": "applied"}) == 1


def _scrape_in_thread(url: str, out: dict[str, float | int]) -> None:
    response = httpx.get(url, timeout=5)
    out["status"] = response.status_code
    out["done_at"] = time.monotonic()


async def test_metrics_thread_answers_while_the_loop_is_blocked(tmp_path: Path) -> None:
    port = free_port()
    settings = make_settings(tmp_path, metrics_port=port, metrics_host="127.0.0.1")
    app = create_app(settings, CollectorRegistry())
    async with app.router.lifespan_context(app):
        out: dict[str, float | int] = {}
        scraper = threading.Thread(
            target=_scrape_in_thread, args=(f"http://127.0.0.1:{port}/metrics", out)
        )
        scraper.start()
        time.sleep(1.5)  # noqa: ASYNC251 - block the event loop: nothing async runs now
        unblocked_at = time.monotonic()
        scraper.join(timeout=10)
    assert out["status"] == 200
    assert out["done_at"] < unblocked_at  # answered during the block, not after it
