"""What ``labctl top`` shows: the service's vital signs from two scrapes of its ``/metrics``.

Rates and quantiles come from the difference between two scrapes, as Prometheus' ``rate()``
and ``histogram_quantile()`` would compute them over that window, so ``top`` needs nothing
but the service (no Prometheus).

Usage::

    scrape = Scrape.parse(patient.metrics_text())
    time.sleep(2)
    vitals = Vitals.between(scrape, Scrape.parse(patient.metrics_text()))
    vitals.requests_per_second, vitals.p99_seconds, vitals.active_faults
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from labctl.patient import Patient

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Scrape:
    """Every sample of one scrape, by sample name then label set."""

    at: float
    samples: dict[str, dict[Labels, float]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, at: float | None = None) -> Scrape:
        samples: dict[str, dict[Labels, float]] = defaultdict(dict)
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                samples[s.name][tuple(sorted(s.labels.items()))] = s.value
        return cls(time.monotonic() if at is None else at, dict(samples))

    def total(self, name: str, **match: str) -> float:
        """Sum of a sample over the label sets that match ``match``."""
        return sum(v for labels, v in self.samples.get(name, {}).items() if _matches(labels, match))

    def value(self, name: str) -> float | None:
        series = self.samples.get(name)
        return sum(series.values()) if series else None

    def buckets(self, name: str, **match: str) -> dict[float, float]:
        """Cumulative bucket counts of a histogram by upper bound, summed over label sets."""
        out: dict[float, float] = defaultdict(float)
        for labels, v in self.samples.get(f"{name}_bucket", {}).items():
            if _matches(labels, match):
                out[float(dict(labels)["le"])] += v
        return dict(out)


def _matches(labels: Labels, match: dict[str, str]) -> bool:
    have = dict(labels)
    return all(have.get(k) == v for k, v in match.items())


def bucket_quantile(
    q: float, before: dict[float, float], after: dict[float, float]
) -> float | None:
    """``histogram_quantile(q, increase(...))`` for one window: linear within the bucket,
    the highest finite bound when the rank falls in +Inf. Written here because
    prometheus-client parses histograms but has no quantile estimate."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    rank = q * counts[-1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return None


@dataclass(frozen=True)
class Vitals:
    seconds: float
    requests_per_second: float
    p50_seconds: float | None
    p99_seconds: float | None
    error_ratio: float | None  # 5xx among all responses in the window
    cpu_percent: float | None  # of one core
    rss_bytes: float | None
    tasks: float | None
    loop_lag_p99_seconds: float | None
    gc_collections_per_second: float
    gc_pause_p99_seconds: float | None
    cache_entries: dict[str, float]
    open_fds: float | None
    max_fds: float | None
    active_faults: list[str]

    @classmethod
    def between(cls, before: Scrape, after: Scrape) -> Vitals:
        seconds = max(after.at - before.at, 1e-9)

        def rate(name: str, **match: str) -> float:
            return max(0.0, after.total(name, **match) - before.total(name, **match)) / seconds

        requests = rate("leaky_app_http_requests_total")
        errors = sum(
            rate("leaky_app_http_requests_total", status=str(code)) for code in _statuses(after)
        )
        latency = "leaky_app_http_request_duration_seconds"
        cpu = "process_cpu_seconds_total"
        gc = "leaky_app_gc_pause_seconds"
        return cls(
            seconds=seconds,
            requests_per_second=requests,
            p50_seconds=bucket_quantile(0.5, before.buckets(latency), after.buckets(latency)),
            p99_seconds=bucket_quantile(0.99, before.buckets(latency), after.buckets(latency)),
            error_ratio=errors / requests if requests > 0 else None,
            cpu_percent=100 * rate(cpu) if after.value(cpu) is not None else None,
            rss_bytes=after.value("process_resident_memory_bytes"),
            tasks=after.value("leaky_app_asyncio_tasks"),
            loop_lag_p99_seconds=bucket_quantile(
                0.99,
                before.buckets("leaky_app_event_loop_lag_seconds"),
                after.buckets("leaky_app_event_loop_lag_seconds"),
            ),
            gc_collections_per_second=rate(f"{gc}_count"),
            gc_pause_p99_seconds=bucket_quantile(0.99, before.buckets(gc), after.buckets(gc)),
            cache_entries={
                dict(labels).get("cache", "?"): v
                for labels, v in after.samples.get("leaky_app_cache_entries", {}).items()
            },
            open_fds=after.value("process_open_fds"),
            max_fds=after.value("process_max_fds"),
            active_faults=sorted(
                dict(labels).get("fault", "?")
                for labels, v in after.samples.get("leaky_app_fault_active", {}).items()
                if v > 0
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _statuses(scrape: Scrape) -> Iterable[str]:
    seen = {dict(labels).get("status", "") for labels in scrape.samples.get(
        "leaky_app_http_requests_total", {})}  # fmt: skip
    return sorted(s for s in seen if s.startswith("5"))


def watch(patient: Patient, interval: float, frames: int | None = None) -> Iterator[Vitals]:
    """Vitals every ``interval`` seconds, each over the interval just ended."""
    before = Scrape.parse(patient.metrics_text())
    shown = 0
    while frames is None or shown < frames:
        time.sleep(interval)
        after = Scrape.parse(patient.metrics_text())
        yield Vitals.between(before, after)
        before = after
        shown += 1
