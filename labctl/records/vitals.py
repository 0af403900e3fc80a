"""What ``labctl top`` shows: the service's vital signs over the window between two scrapes.

Usage::

    vitals = Vitals.between(before, after)       # two Scrape records
    vitals.requests_per_second, vitals.p99_seconds, vitals.active_faults
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from labctl.contract import Metric
from labctl.records.scrape import Scrape, bucket_quantile


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

        requests = rate(Metric.REQUESTS)
        errors = sum(rate(Metric.REQUESTS, status=str(code)) for code in _statuses(after))
        latency, cpu, gc = Metric.LATENCY, Metric.CPU, Metric.GC_PAUSE
        return cls(
            seconds=seconds,
            requests_per_second=requests,
            p50_seconds=bucket_quantile(0.5, before.buckets(latency), after.buckets(latency)),
            p99_seconds=bucket_quantile(0.99, before.buckets(latency), after.buckets(latency)),
            error_ratio=errors / requests if requests > 0 else None,
            cpu_percent=100 * rate(cpu) if after.value(cpu) is not None else None,
            rss_bytes=after.value(Metric.RSS),
            tasks=after.value(Metric.TASKS),
            loop_lag_p99_seconds=bucket_quantile(
                0.99, before.buckets(Metric.LOOP_LAG), after.buckets(Metric.LOOP_LAG)
            ),
            gc_collections_per_second=rate(gc.observations),
            gc_pause_p99_seconds=bucket_quantile(0.99, before.buckets(gc), after.buckets(gc)),
            cache_entries={
                dict(labels).get("cache", "?"): v
                for labels, v in after.samples.get(Metric.CACHE_ENTRIES, {}).items()
            },
            open_fds=after.value(Metric.OPEN_FDS),
            max_fds=after.value(Metric.MAX_FDS),
            active_faults=sorted(
                dict(labels).get("fault", "?")
                for labels, v in after.samples.get(Metric.FAULT_ACTIVE, {}).items()
                if v > 0
            ),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _statuses(scrape: Scrape) -> Iterable[str]:
    seen = {dict(labels).get("status", "") for labels in scrape.samples.get(Metric.REQUESTS, {})}
    return sorted(s for s in seen if s.startswith("5"))
