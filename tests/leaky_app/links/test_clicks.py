from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from leaky_app.links.clicks import ClickBuffer
from leaky_app.links.store import Link, LinkStore
from leaky_app.metrics import Metrics


async def test_clicks_are_buffered_then_flushed_in_one_batch(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    metrics = Metrics.create(registry, runtime_collectors=False)
    store = await LinkStore.open(tmp_path / "c.db")
    try:
        await store.insert(Link.new("k", "https://example.org", None))
        clicks = ClickBuffer(store, metrics.click_flushes)
        for i in range(5):
            clicks.record("k", now=100.0 + i)
        pending = clicks.pending("k")
        assert pending is not None and pending.count == 5
        stored = await store.get("k")
        assert stored is not None and stored.clicks == 0
        assert await clicks.flush() == 1
        stored = await store.get("k")
        assert stored is not None and (stored.clicks, stored.last_click_at) == (5, 104.0)
        assert clicks.pending("k") is None
        assert registry.get_sample_value("leaky_app_click_flushes_total") == 1
    finally:
        await store.close()


async def test_failed_flush_keeps_counts(tmp_path: Path) -> None:
    metrics = Metrics.create(CollectorRegistry(), runtime_collectors=False)
    store = await LinkStore.open(tmp_path / "c.db")
    clicks = ClickBuffer(store, metrics.click_flushes)
    clicks.record("k", now=1.0)
    clicks.record("k", now=2.0)
    await store.close()  # the write will fail
    with pytest.raises(ValueError, match="no active connection"):
        await clicks.flush()
    pending = clicks.pending("k")
    assert pending is not None and pending.count == 2


async def test_a_reader_during_a_flush_sees_every_click(tmp_path: Path) -> None:
    """Race across an await: a reader's SELECT steps its row, then awaits the fetch; a flush
    swaps the buffered counts out in between. Without a lock held by both, the reader sees
    the clicks in neither place."""
    import asyncio

    from leaky_app.links.cache import ReadCache
    from leaky_app.links.service import LinkService

    metrics = Metrics.create(CollectorRegistry(), runtime_collectors=False)
    store = await LinkStore.open(tmp_path / "c.db")
    try:
        await store.insert(Link.new("k", "https://example.org", None))
        clicks = ClickBuffer(store, metrics.click_flushes)
        cache = ReadCache(100, metrics.cache_entries, metrics.cache_lookups)
        service = LinkService(store, cache, clicks, metrics)
        seen = []
        for expected in range(1, 101):
            clicks.record("k")
            reader = asyncio.create_task(service.get("k"))
            await asyncio.sleep(0)  # the reader has sent its SELECT
            flush = asyncio.create_task(clicks.flush())
            await asyncio.sleep(0)  # the flush has swapped the counts out
            seen.append(((await reader).clicks, expected))
            await flush
        assert [s for s in seen if s[0] != s[1]] == []
    finally:
        await store.close()
