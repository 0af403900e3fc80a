from leaky_app.ratelimit import TokenBucketLimiter
from leaky_app.settings import RateLimitConfig


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
