"""A link's clicks per minute over the last hour: counted once each, acknowledged by batch,
bounded in minutes and links."""

from __future__ import annotations

import asyncio

from leaky_app.links.activity import ClickActivity, MinuteCount
from leaky_app.links.events import ClickEvents

T0 = 1_700_000_040.0  # a minute's start


def test_clicks_are_counted_in_their_minute_and_the_batch_acknowledged() -> None:
    events = ClickEvents()
    activity = ClickActivity(events)
    for at in (T0, T0 + 1, T0 + 59.9, T0 + 60, T0 + 125):
        events.publish("abc", at)
    events.publish("xyz", T0)
    activity.fold(events.take())
    assert events.unacked() == []
    assert activity.of("abc", now=T0 + 130) == [
        MinuteCount(int(T0), 3), MinuteCount(int(T0) + 60, 1), MinuteCount(int(T0) + 120, 1)
    ]  # fmt: skip
    assert activity.of("xyz", now=T0) == [MinuteCount(int(T0), 1)]
    assert activity.of("nope", now=T0) == []


def test_an_event_handed_again_is_not_counted_twice() -> None:
    events = ClickEvents()
    activity = ClickActivity(events)
    events.publish("abc", T0)
    batch = events.take()
    activity.fold(batch)
    activity.fold(batch)  # a restarted consumer handed what it had not acknowledged
    assert activity.of("abc", now=T0) == [MinuteCount(int(T0), 1)]


def test_only_the_last_hour_is_served_and_kept() -> None:
    events = ClickEvents()
    activity = ClickActivity(events, max_links=2)
    for minute in range(90):
        events.publish("abc", T0 + 60 * minute)
    activity.fold(events.take())
    now = T0 + 60 * 89
    served = activity.of("abc", now=now)
    assert len(served) == 60 and served[0].minute == int(now) - 59 * 60
    for code in ("b", "c"):  # two more links: the least recently clicked is forgotten
        events.publish(code, now)
    activity.fold(events.take())
    assert activity.of("abc", now=now) == []


async def test_run_counts_once_a_second_and_starts_with_the_unacknowledged() -> None:
    events = ClickEvents()
    events.publish("abc", T0)  # published before the consumer ran
    activity = ClickActivity(events, every_seconds=0.01)
    task = asyncio.create_task(activity.run())
    try:
        events.publish("abc", T0 + 1)
        for _ in range(200):
            if events.unacked() == [] and len(activity.of("abc", T0)) == 1:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert activity.of("abc", now=T0) == [MinuteCount(int(T0), 2)]
