"""Per-campaign click counts, exported to Prometheus for the marketing dashboard."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

# Which request attributes become labels, by detail level (the dashboard's "drill-down").
LABEL_SETS = {1: ("code",), 2: ("code", "campaign"), 3: ("code", "campaign", "referrer")}


class CampaignTracker:
    """``detail`` > 0 turns tracking on; higher detail splits clicks by more attributes."""

    def __init__(self, registry: CollectorRegistry, max_series: int = 50_000) -> None:
        self._registry = registry
        self.max_series = max_series
        self.detail = 0
        self._counter: Counter | None = None
        self._series: set[tuple[str, ...]] = set()

    def configure(self, detail: int) -> None:
        self.close()
        self.detail = detail
        if detail:
            self._counter = Counter(
                "leaky_app_campaign_clicks",
                "Clicks by campaign attributes.",
                LABEL_SETS[detail],
                registry=self._registry,
            )

    def count_click(self, code: str, query: str, referrer: str | None) -> None:
        if self._counter is None:
            return
        values = {"code": code, "campaign": query, "referrer": referrer or "direct"}
        key = tuple(values[name] for name in LABEL_SETS[self.detail])
        if key not in self._series:
            if len(self._series) >= self.max_series:
                return  # safety cap of the lab: no new series past it
            self._series.add(key)
        self._counter.labels(*key).inc()

    def close(self) -> None:
        if self._counter is not None:
            self._registry.unregister(self._counter)
        self._counter = None
        self._series = set()
        self.detail = 0
