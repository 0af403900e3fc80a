"""Click events kept until acknowledged: the window and a task per event deliver the same
events to the consumer and give a restarted consumer the same ones again; the window holds
no task, a task per event waits for an acknowledgement that a batch's cumulative one never
gives, up to its cap; switching back releases every task and keeps what is unacknowledged."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaky_app.links.activity import ClickActivity
from leaky_app.links.events import ClickEvents

# A click on one of three links at a time in a two-hour span, a batch taken by the consumer,
# or the consumer starting again.
STEPS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.floats(0, 7200)),
        st.sampled_from(["batch", "restart"]),
    ),
    max_size=150,
)


def sparkline(steps: list[tuple[str, float] | str], delivery: str, switch_at: int) -> object:
    async def run() -> object:
        events = ClickEvents()
        events.use_delivery(delivery)
        activity = ClickActivity(events)
        handed = []  # the batches the consumer took
        for i, step in enumerate(steps):
            if i == switch_at:
                events.use_delivery("window")
            if isinstance(step, tuple):
                code, at = step
                events.publish(code, at)
            elif step == "batch":
                batch = events.take()
                activity.fold(batch)
                handed.append([e.id for e in batch])
            else:  # a restart, handed again what is unacknowledged: counted once
                activity.fold(events.unacked())
            await asyncio.sleep(0)
        activity.fold(events.take())
        lines = {code: activity.of(code, now=7200) for code in "abc"}
        events.use_delivery("window")  # no task left behind by the example
        return handed, lines

    return asyncio.run(run())


@settings(max_examples=200, deadline=None)
@given(STEPS, st.integers(0, 160))
def test_both_deliveries_give_the_consumer_the_same_events_and_the_same_sparkline(
    steps: list[tuple[str, float] | str], switch_at: int
) -> None:
    windowed = sparkline(steps, "window", -1)
    assert sparkline(steps, "tasks", -1) == windowed
    assert sparkline(steps, "tasks", switch_at) == windowed


def others() -> int:
    return len(asyncio.all_tasks()) - 1


async def settle() -> None:
    for _ in range(3):  # a task woken, done, and its done-callbacks run
        await asyncio.sleep(0)


async def test_the_window_holds_no_task_and_forgets_what_a_batch_acknowledges() -> None:
    events = ClickEvents()
    for n in range(10):
        events.publish("abc", float(n))
    assert others() == 0
    batch = events.take()
    assert [e.id for e in batch] == list(range(1, 11))
    events.ack(batch[-1].id)
    assert events.unacked() == [] and events.take() == []


async def test_a_task_per_event_waits_for_acks_a_batch_never_gives_up_to_its_cap() -> None:
    events = ClickEvents(max_tasks=25)
    events.use_delivery("tasks")
    for n in range(10):
        events.publish("abc", float(n))
    await asyncio.sleep(0)
    assert others() == 10
    batch = events.take()
    events.ack(batch[-1].id)  # the consumer acknowledges the batch, cumulatively
    await settle()
    assert others() == 9  # only the last event's task heard
    assert [e.id for e in events.unacked()] == list(range(1, 10))
    for n in range(30):
        events.publish("abc", float(n))
    assert len(events.take()) == 30  # past the cap every event still arrives
    await settle()
    assert others() == 25
    events.use_delivery("window")
    await settle()
    assert others() == 0  # off: every task released, the unacknowledged kept
    assert len(events.unacked()) == 25
    events.ack(40)
    assert events.unacked() == []


def test_an_unknown_delivery_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="choose window or tasks"):
        ClickEvents().use_delivery("fire-and-forget")
