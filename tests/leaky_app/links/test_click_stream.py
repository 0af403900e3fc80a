"""The click stream's fan-out: filters, bounded queues, slow consumers dropped, caps; every
link's clicks only with the observer token, and a cap per anonymous address."""

from __future__ import annotations

import asyncio
import json

import pytest
from prometheus_client import CollectorRegistry

from leaky_app.links.click_stream import (
    ClickStream,
    ClientLimit,
    StreamFull,
    StreamRefused,
    TokenRequired,
)
from leaky_app.links.stream_backlog import EVENT_BYTES, EventList, PackedEvents
from leaky_app.metrics import WebsocketMetrics

TOKEN = "observer-token"
OBSERVER = f"Bearer {TOKEN}"


def make(
    max_subscribers: int = 10, queue_size: int = 3, max_per_client: int = 100
) -> tuple[ClickStream, CollectorRegistry]:
    registry = CollectorRegistry()
    metrics = WebsocketMetrics.create(registry)
    stream = ClickStream(max_subscribers, queue_size, metrics, max_per_client)
    stream.token = TOKEN
    return stream, registry


def refusals(registry: CollectorRegistry, reason: str) -> float:
    return registry.get_sample_value("leaky_app_ws_refused_total", {"reason": reason}) or 0.0


async def test_events_reach_matching_subscribers_and_a_full_queue_drops_only_its_owner() -> None:
    stream, registry = make(queue_size=3)
    everything = stream.subscribe(None, authorization=OBSERVER)
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
    sub = stream.subscribe(None, authorization=OBSERVER)
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
    first = stream.subscribe(None, authorization=OBSERVER)
    stream.subscribe(None, authorization=OBSERVER)
    with pytest.raises(StreamFull, match="try again later"):
        stream.subscribe(None, authorization=OBSERVER)
    assert refusals(registry, "full") == 1
    stream.unsubscribe(first)
    stream.subscribe(None, authorization=OBSERVER)  # room again


def test_packed_backlogs_stop_at_their_budget_and_switching_back_keeps_the_events() -> None:
    stream, _ = make(max_subscribers=100)
    stream.max_packed_bytes = 10 * stream.queue_size * EVENT_BYTES  # room for ten
    stream.use_backlog("packed")
    subs = [stream.subscribe(None, authorization=OBSERVER) for _ in range(12)]
    assert sum(isinstance(s.backlog, PackedEvents) for s in subs) == 10  # the budget holds
    stream.unsubscribe(subs.pop(0))  # a buffer's room comes back with its connection
    subs.append(stream.subscribe(None, authorization=OBSERVER))
    assert sum(isinstance(s.backlog, PackedEvents) for s in subs) == 10
    stream.publish("abc", "https://a.example/\u00e9", 1.0)
    stream.use_backlog("list")
    assert all(isinstance(s.backlog, EventList) for s in subs)
    for sub in subs:  # what was waiting is still there
        assert [json.loads(t)["url"] for t in sub.take()] == ["https://a.example/\u00e9"]
    with pytest.raises(ValueError, match="choose list or packed"):
        stream.use_backlog("ring")


def test_a_slow_subscriber_dropped_gives_its_buffer_room_back() -> None:
    stream, _ = make(queue_size=1)
    stream.max_packed_bytes = EVENT_BYTES  # room for one
    stream.use_backlog("packed")
    slow = stream.subscribe(None, authorization=OBSERVER)
    assert isinstance(slow.backlog, PackedEvents)
    stream.publish("abc", "https://a.example", 1.0)
    stream.publish("abc", "https://a.example", 2.0)  # its queue of one overflows: dropped
    assert slow.slow and len(stream) == 0
    assert isinstance(stream.subscribe(None, authorization=OBSERVER).backlog, PackedEvents)


@pytest.mark.parametrize("authorization", [None, "Bearer guessed", TOKEN, f"Basic {TOKEN}"])
def test_every_links_clicks_need_the_observer_token(authorization: str | None) -> None:
    stream, registry = make()
    with pytest.raises(TokenRequired, match=r"\?code=") as refused:
        stream.subscribe(None, "203.0.113.9", authorization)
    assert refused.value.close_code == 1008
    assert refusals(registry, "token_required") == 1 and len(stream) == 0
    assert stream.subscribe("abc", "203.0.113.9", authorization).code == "abc"  # one link: open


def test_without_a_token_configured_nobody_gets_every_links_clicks() -> None:
    stream, _ = make()
    stream.token = None
    with pytest.raises(TokenRequired):
        stream.subscribe(None, authorization="Bearer ")


def test_one_link_stream_carries_no_other_links_url() -> None:
    stream, _ = make()
    mine = stream.subscribe("mine", "203.0.113.9")
    stream.publish("other", "https://private.example/secret-page", 1.0)
    stream.publish("mine", "https://mine.example", 2.0)
    assert [json.loads(t)["url"] for t in mine.take()] == ["https://mine.example"]


def test_an_address_holds_at_most_its_share_and_a_token_holder_is_not_held() -> None:
    stream, registry = make(max_per_client=2)
    held = [stream.subscribe("abc", "203.0.113.9") for _ in range(2)]
    with pytest.raises(ClientLimit, match="2 streams from this address") as refused:
        stream.subscribe("abc", "203.0.113.9")
    assert refused.value.close_code == 1013
    assert refusals(registry, "per_client") == 1
    stream.subscribe("abc", "198.51.100.7")  # another address has its own share
    for _ in range(3):
        stream.subscribe("abc", "203.0.113.9", OBSERVER)
    stream.unsubscribe(held[0])  # a share comes back with its connection
    stream.subscribe("abc", "203.0.113.9")
    with pytest.raises(StreamRefused):
        stream.subscribe("abc", "203.0.113.9")
