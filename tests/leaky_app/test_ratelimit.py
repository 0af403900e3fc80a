from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry, Counter
from redis.asyncio import Redis

from labctl.stack.ports import free_port
from leaky_app.ratelimit import (
    RETRY_SHARED_SECONDS,
    RateLimiter,
    SlidingWindowLimiter,
    TokenBucketLimiter,
)
from leaky_app.settings import RateLimitConfig
from tests.live import LiveRedis


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_rate() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(RateLimitConfig(rps=2, burst=3), clock=clock)
    assert [limiter.take("c").allowed for _ in range(4)] == [True, True, True, False]
    refused = limiter.take("c")
    assert not refused.allowed
    assert refused.retry_after == 0.5  # one token at 2/s
    assert refused.retry_after_header == "1"
    clock.now = 0.5
    assert limiter.take("c").allowed
    assert not limiter.take("c").allowed


def test_clients_have_separate_buckets() -> None:
    limiter = TokenBucketLimiter(RateLimitConfig(rps=1, burst=1), clock=FakeClock())
    assert limiter.take("a").allowed
    assert not limiter.take("a").allowed
    assert limiter.take("b").allowed


def test_bucket_map_is_bounded() -> None:
    limiter = TokenBucketLimiter(RateLimitConfig(), max_clients=100, clock=FakeClock())
    for i in range(1000):
        limiter.take(f"10.0.{i // 256}.{i % 256}")
    assert len(limiter) == 100


def test_configure_applies_new_limits_and_disable() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(RateLimitConfig(rps=100, burst=100), clock=clock)
    limiter.take("c")
    limiter.configure(RateLimitConfig(rps=1, burst=2))
    assert [limiter.take("c").allowed for _ in range(3)] == [True, True, False]
    limiter.configure(RateLimitConfig(enabled=False, rps=1, burst=1))
    assert all(limiter.take("c").allowed for _ in range(50))


# The shared limit (seed Q361's "sliding window in Redis"), against a real redis-server.


@pytest.fixture
async def redis_clients(live_redis: LiveRedis) -> AsyncIterator[tuple[Redis, Redis]]:
    """Two connections, as two service instances would have."""
    a, b = Redis.from_url(live_redis.url), Redis.from_url(live_redis.url)
    try:
        yield a, b
    finally:
        await a.aclose()
        await b.aclose()


@pytest.mark.integration
async def test_sliding_window_allows_burst_then_refuses_until_the_oldest_leaves(
    redis_clients: tuple[Redis, Redis],
) -> None:
    config = RateLimitConfig(rps=10, burst=5)  # window: 5 / 10 = 0.5 s
    limiter = SlidingWindowLimiter(redis_clients[0], "t1", config)
    decisions = [await limiter.take("c") for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert 0 < decisions[-1].retry_after <= 0.5
    await asyncio.sleep(decisions[-1].retry_after + 0.05)
    assert (await limiter.take("c")).allowed
    assert (await limiter.take("other")).allowed  # clients have separate windows


@pytest.mark.integration
async def test_two_instances_share_one_window(redis_clients: tuple[Redis, Redis]) -> None:
    config = RateLimitConfig(rps=1, burst=10)  # window 10 s: nothing leaves it during the test
    a = SlidingWindowLimiter(redis_clients[0], "t2", config)
    b = SlidingWindowLimiter(redis_clients[1], "t2", config)
    allowed = 0
    for _ in range(10):
        allowed += (await a.take("c")).allowed
        allowed += (await b.take("c")).allowed
    assert allowed == 10  # two in-memory buckets would have let 20 through
    local = [TokenBucketLimiter(config), TokenBucketLimiter(config)]
    assert sum(bucket.take("c").allowed for _ in range(10) for bucket in local) == 20


async def test_a_failing_redis_falls_back_to_the_local_bucket_and_counts_it() -> None:
    registry = CollectorRegistry()
    errors = Counter("backend_errors", "test", registry=registry)
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    clock = FakeClock()
    config = RateLimitConfig(rps=1, burst=2)
    limiter = RateLimiter(
        TokenBucketLimiter(config, clock=clock),
        SlidingWindowLimiter(dead, "t3", config),
        errors,
        clock=clock,
    )
    try:
        assert [(await limiter.take("c")).allowed for _ in range(3)] == [True, True, False]
        assert limiter.error is not None
        assert "redis" in limiter.error
        # Redis was tried once; the next calls inside the second went straight to the bucket.
        assert registry.get_sample_value("backend_errors_total") == 1
        clock.now = RETRY_SHARED_SECONDS
        assert (await limiter.take("c")).allowed  # the bucket refilled one token
        assert registry.get_sample_value("backend_errors_total") == 2  # and Redis tried again
    finally:
        await dead.aclose()
