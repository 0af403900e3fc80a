"""The click stream's fan-out: filters, bounded queues, slow consumers dropped, a cap."""

from __future__ import annotations

import asyncio
import json
import tracemalloc

import pytest
from prometheus_client import CollectorRegistry

from leaky_app.links.click_stream import ClickStream, StreamFull
from leaky_app.metrics import WebsocketMetrics


def make(max_subscribers: int = 10, queue_size: int = 3) -> tuple[ClickStream, CollectorRegistry]:
    registry = CollectorRegistry()
    return ClickStream(max_subscribers, queue_size, WebsocketMetrics.create(registry)), registry


async def test_events_reach_matching_subscribers_and_a_full_queue_drops_only_its_owner() -> None:
    stream, registry = make(queue_size=3)
    everything = stream.subscribe(None)
    only_abc = stream.subscribe("abc")
    stream.publish("xyz", "https://x.example", 1.0)
    stream.publish("abc", "https://a.example", 2.0)
    assert [json.loads(t)["code"] for t in await everything.next()] == ["xyz", "abc"]
    assert [json.loads(t) for t in await only_abc.next()] == [
        {"code": "abc", "url": "https://a.example", "at": 2.0}
    ]
    # Nobody reads now: the fourth event overflows everything's queue of three.
    for n in range(4):
        stream.publish("xyz", "https://x.example", 3.0 + n)
    assert everything.slow and everything.closed
    assert await everything.next() == []  # its writer is told to stop
    assert len(stream) == 1  # the slow one is out; the filtered one never got those
    assert not only_abc.slow
    assert registry.get_sample_value("leaky_app_ws_dropped_slow_total") == 1
    assert registry.get_sample_value("leaky_app_ws_clients") == 1
    stream.unsubscribe(only_abc)
    assert len(stream) == 0


async def test_a_waiting_writer_wakes_for_an_event_and_for_a_close() -> None:
    stream, _ = make()
    sub = stream.subscribe(None)
    waiting = asyncio.create_task(sub.next())
    await asyncio.sleep(0)
    stream.publish("abc", "https://a.example", 1.0)
    assert len(await asyncio.wait_for(waiting, 5)) == 1
    waiting = asyncio.create_task(sub.next())
    await asyncio.sleep(0)
    sub.close()  # the client left
    assert await asyncio.wait_for(waiting, 5) == []


async def test_over_the_cap_a_subscriber_is_refused_and_counted() -> None:
    stream, registry = make(max_subscribers=2)
    first = stream.subscribe(None)
    stream.subscribe(None)
    with pytest.raises(StreamFull, match="try again later"):
        stream.subscribe(None)
    assert registry.get_sample_value("leaky_app_ws_refused_total") == 1
    stream.unsubscribe(first)
    stream.subscribe(None)  # room again


def test_resume_rings_cost_memory_per_connection_up_to_the_cap_and_are_released() -> None:
    stream, _ = make(max_subscribers=100)
    stream.resume_kib, stream.max_resume_bytes = 64, 10 * 64 * 1024  # room for ten rings
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        subs = [stream.subscribe(None) for _ in range(12)]
        per_connection = (tracemalloc.get_traced_memory()[0] - start) / 12
        assert per_connection > 10 * 64 * 1024 / 12  # ten rings of 64 KiB among twelve
        assert sum(s.resume is not None for s in subs) == 10  # the cap holds
        stream.unsubscribe(subs.pop(0))  # a ring's room comes back with its connection
        stream.subscribe(None)
        assert sum(s.resume is not None for s in stream._subscribers) == 10
        stream.drop_resume_rings()
        assert all(s.resume is None for s in stream._subscribers)
        assert tracemalloc.get_traced_memory()[0] - start < 64 * 1024
    finally:
        tracemalloc.stop()


def test_a_slow_subscriber_dropped_gives_its_ring_room_back() -> None:
    stream, _ = make(queue_size=1)
    stream.resume_kib, stream.max_resume_bytes = 64, 64 * 1024  # room for one ring
    slow = stream.subscribe(None)
    assert slow.resume is not None
    stream.publish("abc", "https://a.example", 1.0)
    stream.publish("abc", "https://a.example", 2.0)  # its queue of one overflows: dropped
    assert slow.slow and len(stream) == 0
    assert stream.subscribe(None).resume is not None
