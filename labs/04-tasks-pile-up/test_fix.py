"""Lab 04, the fix exercise: a click event kept until the consumer acknowledges it must be let
go when its batch is acknowledged; nothing may pile up while the consumer keeps up.

This test fails until the fix is made. Check your fix with::

    labctl lab check 04 --fix
"""

import asyncio
import time

from leaky_app.links.activity import ClickActivity
from leaky_app.links.events import ClickEvents

WITHIN_S = 2.0


async def test_events_acknowledged_as_a_batch_leave_no_task_waiting() -> None:
    events = ClickEvents()
    events.use_delivery("tasks")
    activity = ClickActivity(events)
    baseline = len(asyncio.all_tasks())
    try:
        now = time.time()
        for i in range(100):
            events.publish(f"code{i % 4}", now)
        activity.fold(events.take())  # one batch, acknowledged by its last event
        deadline = time.monotonic() + WITHIN_S
        while time.monotonic() < deadline:
            if len(asyncio.all_tasks()) == baseline and not events.unacked():
                break
            await asyncio.sleep(0.05)
        waiting = len(asyncio.all_tasks()) - baseline
        assert waiting == 0 and not events.unacked(), (
            f"{WITHIN_S:g} s after 100 clicks were acknowledged as one batch, {waiting} tasks "
            f"still wait and {len(events.unacked())} events are unacknowledged: an "
            "acknowledgement covers every event up to its id, not that event alone"
        )
        # The fix keeps the answer: every click counted once.
        assert sum(m.clicks for code in range(4) for m in activity.of(f"code{code}", now)) == 100
    finally:
        events.use_delivery("window")
