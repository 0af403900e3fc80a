"""The RED series of HTTP requests: ``leaky_app_http_requests_total`` by method, route and
status, and ``leaky_app_http_request_duration_seconds`` by method and route, with the trace id
of a sampled request as its bucket's exemplar.

Counted on the event loop with plain integer adds and exposed through prometheus-client's
custom-collector API at scrape time, rather than with its ``Counter`` and ``Histogram``:
those take a lock for the count, one for the sum and one for the bucket, in 13 Python calls
per request, on the one path every request takes (``bench/results/request_path_cost.md``).
Here a request costs one call, a bisect and three adds. Only the loop thread writes; the
scrape thread copies under a lock that writers take only to add a series, so a scrape never
iterates a dict that is growing. As with prometheus-client's own histograms, a scrape may see
a request in the sum a moment before its bucket.

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
from dataclasses import dataclass

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


@dataclass
class _Histogram:
    buckets: list[int]  # per bucket, not cumulative; the last is +Inf
    exemplars: list[Exemplar | None]
    total: float = 0.0


class HttpMetrics(Collector):
    def __init__(self, registry: CollectorRegistry, buckets: Sequence[float]) -> None:
        self._bounds = [float(b) for b in buckets]
        if self._bounds != sorted(self._bounds) or math.inf in self._bounds:
            raise ValueError("buckets must be finite and ascending (+Inf is added)")
        # The le values prometheus-client's own histograms print (0.005, 1.0, +Inf).
        les: list[str] = [floatToGoString(b) for b in self._bounds]  # type: ignore[no-untyped-call]
        self._les = [*les, "+Inf"]
        self._requests: dict[tuple[str, str, int], int] = {}
        self._durations: dict[tuple[str, str], _Histogram] = {}
        self._new_series = threading.Lock()
        registry.register(self)

    def observe(
        self, method: str, route: str, status: int, seconds: float, trace_id: str | None = None
    ) -> None:
        """Count one answered request and time it; ``route`` is a template, never a path."""
        key = (method, route, status)
        count = self._requests.get(key)
        if count is None:
            with self._new_series:
                self._requests[key] = 1
        else:
            self._requests[key] = count + 1
        histogram = self._durations.get((method, route))
        if histogram is None:
            n = len(self._les)
            histogram = _Histogram([0] * n, [None] * n)
            with self._new_series:
                self._durations[(method, route)] = histogram
        index = bisect.bisect_left(self._bounds, seconds)  # a bucket's bound is inclusive
        histogram.buckets[index] += 1
        histogram.total += seconds
        if trace_id is not None:
            histogram.exemplars[index] = Exemplar({"trace_id": trace_id}, seconds, time.time())

    def describe(self) -> Iterable[Metric]:
        yield CounterMetricFamily(REQUESTS, _REQUESTS_HELP, labels=_REQUEST_LABELS)
        yield HistogramMetricFamily(DURATION, _DURATION_HELP, labels=_DURATION_LABELS)

    def collect(self) -> Iterable[Metric]:
        with self._new_series:
            requests = list(self._requests.items())
            durations = [
                (key, list(h.buckets), list(h.exemplars), h.total)
                for key, h in self._durations.items()
            ]
        counter = CounterMetricFamily(REQUESTS, _REQUESTS_HELP, labels=_REQUEST_LABELS)
        for (method, route, status), value in requests:
            counter.add_metric([method, route, str(status)], value)
        yield counter
        histogram = HistogramMetricFamily(DURATION, _DURATION_HELP, labels=_DURATION_LABELS)
        for labels, buckets, exemplars, total in durations:
            cumulative = 0
            rows: list[tuple[str, float] | tuple[str, float, Exemplar]] = []
            for le, value, exemplar in zip(self._les, buckets, exemplars, strict=True):
                cumulative += value
                rows.append((le, cumulative) if exemplar is None else (le, cumulative, exemplar))
            histogram.add_metric(list(labels), rows, total)
        yield histogram
