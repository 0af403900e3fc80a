from prometheus_client import CollectorRegistry

from leaky_app.links.cache import CachedTarget, ReadCache
from leaky_app.metrics import Metrics


def test_cache_is_bounded_and_evicts_least_recently_used() -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry, runtime_collectors=False)
    cache = ReadCache(3, metrics.cache_entries, metrics.cache_lookups)
    for code in "abcd":
        cache.put(code, CachedTarget(f"https://{code}.example", None))
        if code == "b":
            assert cache.get("a") is not None  # touch a: b becomes the oldest
    assert len(cache) == 3
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert registry.get_sample_value("leaky_app_cache_entries", {"cache": "link_read"}) == 3
    hits = registry.get_sample_value(
        "leaky_app_cache_lookups_total", {"cache": "link_read", "result": "hit"}
    )
    assert hits == 2


def test_discard() -> None:
    metrics = Metrics.create(CollectorRegistry(), runtime_collectors=False)
    cache = ReadCache(3, metrics.cache_entries, metrics.cache_lookups)
    cache.put("x", CachedTarget("https://x.example", None))
    cache.discard("x")
    cache.discard("never-there")
    assert cache.get("x") is None
