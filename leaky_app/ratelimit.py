"""Per-client rate limits (seed Q361): a token bucket in memory, a sliding window in Redis.

* :class:`TokenBucketLimiter`: each client (by remote address) owns a bucket of ``burst``
  tokens refilled at ``rps`` a second; a request takes one token or is refused with the
  seconds until the next token, which becomes the ``Retry-After`` header. Buckets live in an
  LRU map so a scan from many addresses cannot grow memory without bound. Per instance: two
  instances behind a balancer let a client through twice as fast.
* :class:`SlidingWindowLimiter`: one Redis sorted set per client holds the times of its
  requests in the last ``burst / rps`` seconds; a request is allowed while fewer than
  ``burst`` are there. Same long-run rate and burst as the bucket, shared by every instance
  that uses the Redis server, and exact (no fixed-window edge where twice the limit passes).
  One Lua script checks and records atomically on Redis's clock, so instances with skewed
  clocks still agree.
* :class:`RateLimiter` is what requests call: the shared window when ``REDIS_URL`` is set,
  else the bucket. When Redis fails, the request is judged by this instance's bucket instead
  (fail open to a local limit, counted in ``leaky_app_rate_limit_backend_errors_total`` and
  shown in ``/readyz``): refusing every request because the limiter's store is down would
  turn a Redis outage into a full outage.

Usage::

    limiter = RateLimiter(TokenBucketLimiter(RateLimitConfig(rps=5, burst=10)))
    decision = await limiter.take("127.0.0.1")
    if not decision.allowed: ...  # wait decision.retry_after seconds
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from leaky_app.leader import holder_id
from leaky_app.settings import RateLimitConfig

log = logging.getLogger(__name__)


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


# KEYS[1] the client's set; ARGV: window ms, limit, a member unique to this request.
# Returns {allowed, ms until the oldest request leaves the window}.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
"""


class SlidingWindowLimiter:
    """At most ``burst`` requests per client in any ``burst / rps`` seconds, in Redis."""

    def __init__(self, redis: Redis, prefix: str, config: RateLimitConfig) -> None:
        self.config = config
        self._prefix = f"{prefix}:ratelimit:"
        self._script = redis.register_script(_SLIDING_WINDOW)
        self._ids = (f"{holder_id()}:{n}" for n in itertools.count())

    def configure(self, config: RateLimitConfig) -> None:
        self.config = config

    async def take(self, client: str) -> Decision:
        """Raises :class:`redis.exceptions.RedisError` when Redis does not answer."""
        if not self.config.enabled:
            return Decision(True)
        window_ms = max(1, round(self.config.burst / self.config.rps * 1000))
        allowed, wait_ms = await self._script(
            keys=[self._prefix + client], args=[window_ms, self.config.burst, next(self._ids)]
        )
        return Decision(bool(allowed), retry_after=max(0.0, float(wait_ms) / 1000))


RETRY_SHARED_SECONDS = 1.0


class RateLimiter:
    """The limit requests see: shared when there is a :class:`SlidingWindowLimiter`, else
    (and whenever Redis fails) the local :class:`TokenBucketLimiter`."""

    def __init__(
        self,
        local: TokenBucketLimiter,
        shared: SlidingWindowLimiter | None = None,
        backend_errors: Counter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.local = local
        self.shared = shared
        self._errors = backend_errors
        self._clock = clock
        self._skip_until = float("-inf")
        self.error: str | None = None  # the last shared-limit failure, until one succeeds

    @property
    def config(self) -> RateLimitConfig:
        return self.local.config

    def configure(self, config: RateLimitConfig) -> None:
        self.local.configure(config)
        if self.shared is not None:
            self.shared.configure(config)

    async def take(self, client: str) -> Decision:
        # After a failure Redis is left alone for a second: with it down, every request would
        # otherwise wait out a connect timeout before the local bucket answers.
        if self.shared is not None and self._clock() >= self._skip_until:
            try:
                decision = await self.shared.take(client)
            except RedisError as exc:
                if self.error is None:
                    log.warning("shared rate limit unavailable, using the local bucket: %s", exc)
                self.error = f"redis: {exc}"
                self._skip_until = self._clock() + RETRY_SHARED_SECONDS
                if self._errors is not None:
                    self._errors.inc()
            else:
                self.error = None
                return decision
        return self.local.take(client)
