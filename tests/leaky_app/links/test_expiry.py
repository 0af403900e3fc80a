"""Link expiry: past their TTL, links leave the store, the read cache and their click
exports, in batches."""

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge

from leaky_app.links import expiry
from leaky_app.links.cache import CachedTarget, ReadCache
from leaky_app.links.expiry import LinkExpiry
from leaky_app.links.exports import ClickExports
from leaky_app.links.store import Link, LinkStore


def cache() -> ReadCache:
    registry = CollectorRegistry()
    entries = Gauge("entries", "e", ["cache"], registry=registry)
    lookups = Counter("lookups", "l", ["cache", "result"], registry=registry)
    return ReadCache(100, entries, lookups)


async def test_expired_links_are_deleted_and_dropped_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await LinkStore.open(tmp_path / "s.db")
    reads = cache()
    try:
        for n in range(7):
            await store.insert(Link.new(f"old{n}", "https://a.example", ttl_seconds=10, now=0.0))
        await store.insert(Link.new("fresh", "https://b.example", ttl_seconds=10, now=995.0))
        await store.insert(Link.new("forever", "https://c.example", None))
        reads.put("old0", CachedTarget("https://a.example", 10.0))
        exports = ClickExports(tmp_path / "exports")
        for code in ("old1", "fresh"):
            exports.append(code, 5.0, "direct")
        job = LinkExpiry(store, reads, clock=lambda: 1000.0, forget=exports.discard)
        monkeypatch.setattr(expiry, "BATCH", 3)  # several batches in one run
        assert await job.run() == 7
        assert reads.get("old0") is None
        assert [p.name for p in (tmp_path / "exports").iterdir()] == ["clicks-fresh.csv"]
        assert await store.count() == 2 and await store.get("fresh") is not None
        assert await job.run() == 0
    finally:
        await store.close()
