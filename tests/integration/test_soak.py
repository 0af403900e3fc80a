"""With every fault off (and every feature on, the reputation checks included), steady load
leaves memory, tasks and descriptors flat."""

import statistics
import time
from pathlib import Path

import pytest

from tests.integration.load import load, scrape
from tests.live import launch

pytestmark = pytest.mark.integration

WARM_UP_S = 20
SOAK_S = 90  # seconds of steady load after the warm-up (45 samples, compared in thirds)
SAMPLE_EVERY_S = 2


def test_clean_service_stays_flat_under_steady_load(tmp_path: Path) -> None:
    service = launch(tmp_path, reputation=True)  # every feature on, every fault off
    try:
        service.flags_file.write_text('{"rate_limit": {"enabled": false}}')
        with service.client() as client:
            codes = [
                client.post("/api/v1/links", json={"url": f"https://e.org/{i}"}).json()["code"]
                for i in range(50)
            ]
        samples: list[dict[str, float]] = []
        with load(service.url, codes, threads=2) as driver:
            time.sleep(WARM_UP_S)
            deadline = time.monotonic() + SOAK_S
            while time.monotonic() < deadline:
                samples.append(scrape(service.metrics_url))
                time.sleep(SAMPLE_EVERY_S)
        assert driver.stats.requests > 1000
        assert driver.stats.errors == 0
    finally:
        service.stop()
    third = len(samples) // 3
    first, last = samples[:third], samples[-third:]

    def mean(rows: list[dict[str, float]], name: str) -> float:
        return statistics.fmean(r[name] for r in rows)

    rss_first = mean(first, "process_resident_memory_bytes")
    rss_last = mean(last, "process_resident_memory_bytes")
    assert rss_last - rss_first < max(0.05 * rss_first, 4 * 1024 * 1024), (rss_first, rss_last)
    assert mean(last, "leaky_app_asyncio_tasks") - mean(first, "leaky_app_asyncio_tasks") < 5
    assert mean(last, "process_open_fds") - mean(first, "process_open_fds") < 5
