"""A small, bounded load driver and a metrics reader for symptom tests.

Threads of httpx clients follow redirects' first hop with a unique query string and a
Referer (one of ``referrers`` pages, as the lab's load brings), like real clicks from
campaigns; 40% of visits open the link's preview page instead (``/{code}+``, as the
lab's load does by default). Every loop is bounded in time and count.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

MAX_REQUESTS_PER_THREAD = 200_000
REFERRERS = 5000  # the distinct referring pages, as loadgen/locustfile.py brings by default
PREVIEW_SHARE = 0.4  # visits that open the preview, as the locustfile's --preview-share
# One sequence for every driver in the session: each click has a query string never seen before.
_click_ids = itertools.count()


@dataclass
class LoadStats:
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)


class Load:
    def __init__(
        self, base_url: str, codes: list[str], threads: int = 3, referrers: int = REFERRERS
    ) -> None:
        self.base_url = base_url
        self.referrers = referrers
        self.codes = codes
        self.threads = threads
        self.stats = LoadStats()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            for _ in range(MAX_REQUESTS_PER_THREAD):
                if self._stop.is_set():
                    return
                n = next(_click_ids)
                code = self.codes[n % len(self.codes)]
                preview = random.random() < PREVIEW_SHARE
                started = time.perf_counter()
                try:
                    response = client.get(
                        f"/{code}{'+' if preview else ''}?utm_campaign=c{n % 7}&click_id={n}",
                        headers={"Referer": f"https://news.example/item/{n % self.referrers}"},
                    )
                    ok = response.status_code == (200 if preview else 302)
                except httpx.TransportError:
                    ok = False
                with self._lock:
                    self.stats.requests += 1
                    self.stats.errors += not ok
                    self.stats.latencies.append(time.perf_counter() - started)

    def start(self) -> None:
        self._workers = [threading.Thread(target=self._run) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)


@contextmanager
def load(
    base_url: str, codes: list[str], threads: int = 3, referrers: int = REFERRERS
) -> Iterator[Load]:
    driver = Load(base_url, codes, threads, referrers)
    driver.start()
    try:
        yield driver
    finally:
        driver.stop()


def scrape(metrics_url: str) -> dict[str, float]:
    """Every sample as ``name{k="v",...}`` -> value (labels sorted), plus bare names summed."""
    text = httpx.get(metrics_url, timeout=30).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
            out[f"sum:{s.name}"] = out.get(f"sum:{s.name}", 0.0) + s.value
    return out


def referrer_window_filled(base_url: str) -> bool:
    """Whether the referrer panel's window is full: cpu_hotloop's release costs a click the
    whole window, so its symptom is measured once the load has filled it."""
    panel = httpx.get(f"{base_url}/api/v2/referrers", params={"limit": 1}, timeout=10).json()
    return bool(panel["clicks"] == panel["window"])


class OwnedLinks:
    """A thread creating links with an owner at a steady pace, each one an email to send."""

    def __init__(self, base_url: str, per_second: float = 20.0, limit: int = 5000) -> None:
        self.base_url = base_url
        self.interval = 1.0 / per_second
        self.limit = limit
        self.codes: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="owned-links")

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            for i in range(self.limit):
                if self._stop.wait(self.interval):
                    return
                try:
                    response = client.post(
                        "/api/v1/links",
                        json={
                            "url": f"https://shop.example/o/{i}",
                            "owner_email": f"o{i}@example.org",
                        },
                    )
                except httpx.TransportError:
                    return  # the service went away (a kill test): stop quietly
                if response.status_code == 201:
                    self.codes.append(response.json()["code"])

    def __enter__(self) -> OwnedLinks:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
