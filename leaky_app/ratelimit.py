"""Per-client token bucket, in memory (seed Q361).

Each client (by remote address) owns a bucket of ``burst`` tokens refilled at ``rps`` a
second; a request takes one token or is refused with the seconds until the next token,
which becomes the ``Retry-After`` header. Buckets live in an LRU map so a scan from many
addresses cannot grow memory without bound.

Usage::

    limiter = TokenBucketLimiter(RateLimitConfig(rps=5, burst=10))
    decision = limiter.take("127.0.0.1")
    if not decision.allowed: ...  # wait decision.retry_after seconds
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache

from leaky_app.settings import RateLimitConfig


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, rounded up, never 0 (HTTP's Retry-After has second resolution)."""
        return str(max(1, math.ceil(self.retry_after)))


class TokenBucketLimiter:
    def __init__(
        self,
        config: RateLimitConfig,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._clock = clock
        self._buckets: LRUCache[str, _Bucket] = LRUCache(maxsize=max_clients)

    def configure(self, config: RateLimitConfig) -> None:
        """Apply new limits (hot reload); existing buckets keep their tokens, capped to burst."""
        self.config = config
        for bucket in self._buckets.values():
            bucket.tokens = min(bucket.tokens, float(config.burst))

    def take(self, client: str) -> Decision:
        if not self.config.enabled:
            return Decision(True)
        now = self._clock()
        rps, burst = self.config.rps, float(self.config.burst)
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(tokens=burst, updated=now)
        else:
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rps)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Decision(True)
        return Decision(False, retry_after=(1.0 - bucket.tokens) / rps)

    def __len__(self) -> int:
        return len(self._buckets)
