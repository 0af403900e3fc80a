"""The RED series of HTTP requests: ``leaky_app_http_requests_total`` by method, route and
status, and ``leaky_app_http_request_duration_seconds`` by method and route, with the trace id
of a sampled request as its bucket's exemplar.

Counted on the event loop with plain integer adds and exposed through prometheus-client's
custom-collector API at scrape time, rather than with its ``Counter`` and ``Histogram``:
those take a lock for the count, one for the sum and one for the bucket, in 13 Python calls
per request, on the one path every request takes (``bench/results/request_path_cost.md``).
Here a request costs one call, one dict lookup, a bisect and two adds: each (method, route,
status) keeps its own buckets, and a scrape derives the counter (a series' bucket total) and
the per-route histogram (the sum over statuses) from them, so the two always agree. Only the
loop thread writes; the scrape thread copies under a lock that writers take only to add a
series, so a scrape never iterates a dict that is growing. As with prometheus-client's own
histograms, a scrape may see a request in its bucket a moment before it is in the sum.

Usage::

    http = HttpMetrics(registry, buckets=(0.005, 0.05, 0.5))
    http.observe("GET", "/{code}", 302, 0.0004)
    http.observe("GET", "/{code}", 302, 0.0004, trace_id="4bf92f35...")  # a sampled request
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Exemplar
from prometheus_client.utils import floatToGoString

REQUESTS = "leaky_app_http_requests"
DURATION = "leaky_app_http_request_duration_seconds"
_REQUESTS_HELP = "HTTP requests answered, by method, route template and status."
_DURATION_HELP = "Time from request start to the last response byte, by route template."
_REQUEST_LABELS = ["method", "route", "status"]
_DURATION_LABELS = ["method", "route"]
_bisect = bisect.bisect_left  # bound once: every request calls it


class _Series:
    """One (method, route, status): its requests per bucket (not cumulative; the last is +Inf),
    their total seconds, and per bucket the exemplar of its last traced request."""

    __slots__ = ("buckets", "exemplars", "total")

    def __init__(self, size: int) -> None:
        self.buckets = [0] * size
        self.exemplars: list[Exemplar | None] = [None] * size
        self.total = 0.0


def _when(exemplar: Exemplar) -> float:
    return float(exemplar.timestamp or 0.0)


class HttpMetrics(Collector):
    def __init__(self, registry: CollectorRegistry, buckets: Sequence[float]) -> None:
        self._bounds = [float(b) for b in buckets]
        if self._bounds != sorted(self._bounds) or math.inf in self._bounds:
            raise ValueError("buckets must be finite and ascending (+Inf is added)")
        # The le values prometheus-client's own histograms print (0.005, 1.0, +Inf).
        les: list[str] = [floatToGoString(b) for b in self._bounds]  # type: ignore[no-untyped-call]
        self._les = [*les, "+Inf"]
        self._series: dict[tuple[str, str, int], _Series] = {}
        self._new_series = threading.Lock()
        registry.register(self)

    def observe(
        self, method: str, route: str, status: int, seconds: float, trace_id: str | None = None
    ) -> None:
        """Count one answered request and time it; ``route`` is a template, never a path."""
        series = self._series.get((method, route, status))
        if series is None:
            series = self._add((method, route, status))
        index = _bisect(self._bounds, seconds)  # a bucket's bound is inclusive, as Prometheus's
        series.buckets[index] += 1
        series.total += seconds
        if trace_id is not None:
            series.exemplars[index] = Exemplar({"trace_id": trace_id}, seconds, time.time())

    def _add(self, key: tuple[str, str, int]) -> _Series:
        series = _Series(len(self._les))
        with self._new_series:
            self._series[key] = series
        return series

    def describe(self) -> Iterable[Metric]:
        yield CounterMetricFamily(REQUESTS, _REQUESTS_HELP, labels=_REQUEST_LABELS)
        yield HistogramMetricFamily(DURATION, _DURATION_HELP, labels=_DURATION_LABELS)

    def collect(self) -> Iterable[Metric]:
        with self._new_series:
            copies = [
                (key, list(series.buckets), list(series.exemplars), series.total)
                for key, series in self._series.items()
            ]
        counter = CounterMetricFamily(REQUESTS, _REQUESTS_HELP, labels=_REQUEST_LABELS)
        routes: dict[tuple[str, str], _Series] = {}
        for (method, route, status), buckets, exemplars, total in copies:
            counter.add_metric([method, route, str(status)], sum(buckets))
            merged = routes.get((method, route))
            if merged is None:
                merged = routes[(method, route)] = _Series(len(self._les))
            merged.total += total
            for i, (value, exemplar) in enumerate(zip(buckets, exemplars, strict=True)):
                merged.buckets[i] += value
                if exemplar is not None and (
                    (kept := merged.exemplars[i]) is None or _when(kept) < _when(exemplar)
                ):
                    merged.exemplars[i] = exemplar
        yield counter
        histogram = HistogramMetricFamily(DURATION, _DURATION_HELP, labels=_DURATION_LABELS)
        for labels, merged in routes.items():
            cumulative = 0
            rows: list[tuple[str, float] | tuple[str, float, Exemplar]] = []
            for le, value, exemplar in zip(
                self._les, merged.buckets, merged.exemplars, strict=True
            ):
                cumulative += value
                rows.append((le, cumulative) if exemplar is None else (le, cumulative, exemplar))
            histogram.add_metric(list(labels), rows, merged.total)
        yield histogram
