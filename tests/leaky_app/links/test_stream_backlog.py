"""The two backlogs hold the same events: over random streams of events of any text (long,
non-ASCII), subscribers holding a list, packed buffers, or switched from one to the other
mid-stream take the same batches and drop at the same event."""

from __future__ import annotations

import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from leaky_app.links.click_stream import ClickStream
from leaky_app.links.stream_backlog import EVENT_BYTES, EventList, PackedEvents
from leaky_app.metrics import WebsocketMetrics

URLS = st.one_of(
    st.builds(lambda n: f"https://example.org/{n}", st.integers(0, 10**6)),
    st.text(max_size=3000),  # longer than a packed slot once escaped: the buffer grows
    st.just(""),
)
# An event for one of two codes, or the reader taking what is waiting.
STEPS = st.lists(
    st.one_of(st.tuples(st.sampled_from(["a", "b"]), URLS), st.just(None)), max_size=120
)


def stream(backlog: str) -> ClickStream:
    registry = CollectorRegistry()
    s = ClickStream(10, 5, WebsocketMetrics.create(registry), max_per_client=10)
    s.token = "t"
    s.max_packed_bytes = 10 * 5 * EVENT_BYTES
    s.use_backlog(backlog)
    return s


def replay(s: ClickStream, steps: list[tuple[str, str] | None], switch_at: int) -> list[object]:
    """What two subscribers (one link's, every link's) took and whether they were dropped."""
    one = s.subscribe("a", client="10.0.0.1")
    every = s.subscribe(None, authorization="Bearer t")
    seen: list[object] = []
    for i, step in enumerate(steps):
        if i == switch_at:
            s.use_backlog("list")
        if step is None:
            seen.append((one.take(), every.take()))
        else:
            code, url = step
            s.publish(code, url, float(i))
    seen.append((one.take(), every.take(), one.slow, every.slow, len(s)))
    return seen


@settings(max_examples=200, deadline=None)
@given(STEPS, st.integers(0, 130))
def test_listed_packed_and_switched_backlogs_take_the_same_events(
    steps: list[tuple[str, str] | None], switch_at: int
) -> None:
    listed = replay(stream("list"), steps, -1)
    assert replay(stream("packed"), steps, -1) == listed
    assert replay(stream("packed"), steps, switch_at) == listed


@given(st.lists(st.text(max_size=5000), max_size=20))
def test_a_packed_backlog_gives_back_what_it_was_given(texts: list[str]) -> None:
    listed, packed = EventList(), PackedEvents(limit=4)
    for text in texts:
        listed.append(text)
        packed.append(text)
    assert len(packed) == len(listed) == len(texts)
    assert packed.drain() == listed.drain() == texts
    assert len(packed) == 0 and packed.drain() == []


def test_an_idle_packed_subscriber_costs_its_full_buffer_and_a_listed_one_almost_nothing() -> None:
    cost = {}
    for backlog in ("list", "packed"):
        s = ClickStream(200, 64, WebsocketMetrics.create(CollectorRegistry()), 200)
        s.max_packed_bytes = 200 * 64 * EVENT_BYTES
        s.use_backlog(backlog)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            subs = [s.subscribe(f"c{i}", client="10.0.0.2") for i in range(100)]
            cost[backlog] = (tracemalloc.get_traced_memory()[0] - before) / len(subs)
        finally:
            tracemalloc.stop()
    assert cost["packed"] > 64 * EVENT_BYTES > 100 * cost["list"], cost
