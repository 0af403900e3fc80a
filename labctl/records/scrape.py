"""One scrape of a ``/metrics`` page as a record, and the window arithmetic over two.

Rates and quantiles come from the difference between two scrapes, as Prometheus' ``rate()``
and ``histogram_quantile()`` would compute them over that window, so ``labctl top`` and the
GC-tuning exercise need nothing but the service (no Prometheus).

Usage::

    before = Scrape.parse(patient.metrics_text())
    ...
    after = Scrape.parse(patient.metrics_text())
    bucket_quantile(0.99, before.buckets(Metric.LATENCY), after.buckets(Metric.LATENCY))
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

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
