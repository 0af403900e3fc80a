"""The bounded read cache in front of the store: least recently used entries are evicted.

Keyed by code; holds only what a redirect needs (URL and expiry), so a hit costs no query.
"""

from __future__ import annotations

from dataclasses import dataclass

from cachetools import LRUCache
from prometheus_client import Counter, Gauge


@dataclass(frozen=True, slots=True)
class CachedTarget:
    url: str
    expires_at: float | None


class ReadCache:
    NAME = "link_read"

    def __init__(self, max_entries: int, entries: Gauge, lookups: Counter) -> None:
        self._data: LRUCache[str, CachedTarget] = LRUCache(maxsize=max_entries)
        self._hit = lookups.labels(cache=self.NAME, result="hit")
        self._miss = lookups.labels(cache=self.NAME, result="miss")
        entries.labels(cache=self.NAME).set_function(lambda: len(self._data))

    def get(self, code: str) -> CachedTarget | None:
        target = self._data.get(code)
        (self._miss if target is None else self._hit).inc()
        return target

    def put(self, code: str, target: CachedTarget) -> None:
        self._data[code] = target

    def discard(self, code: str) -> None:
        self._data.pop(code, None)

    def __len__(self) -> int:
        return len(self._data)
