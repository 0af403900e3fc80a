"""The /metrics thread: it answers while the service's event loop is blocked."""

import threading
import time
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from labctl.stack.ports import free_port
from leaky_app.app import create_app
from tests.conftest import make_settings


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
