"""Lab 04, the fix exercise: a click event's deliveries must end, acknowledged or not, and the
publisher must forget them when they do; nothing may pile up while subscribers stay silent.

This test fails until the fix is made. Check your fix with::

    labctl lab check 04 --fix
"""

import asyncio
import time

from leaky_app.links.events import ClickEventPublisher

GIVE_UP_WITHIN_S = 6.0  # a delivery nobody acknowledges ends within this


async def test_unacknowledged_deliveries_end_and_are_forgotten() -> None:
    publisher = ClickEventPublisher()
    publisher.subscribers = 2
    baseline = len(asyncio.all_tasks())
    try:
        for i in range(100):
            publisher.publish(f"code{i}")
        assert len(asyncio.all_tasks()) > baseline  # deliveries are on their way
        deadline = time.monotonic() + GIVE_UP_WITHIN_S
        while time.monotonic() < deadline:
            if len(asyncio.all_tasks()) == baseline and len(publisher) == 0:
                break
            await asyncio.sleep(0.1)
        alive = len(asyncio.all_tasks()) - baseline
        assert alive == 0 and len(publisher) == 0, (
            f"{GIVE_UP_WITHIN_S:g} s after 100 clicks, {alive} delivery tasks still wait and "
            f"the publisher holds {len(publisher)}: nothing ends a delivery nobody "
            "acknowledges, and nothing removes a finished one"
        )
    finally:
        publisher.close()


async def test_an_acknowledged_delivery_still_completes() -> None:
    publisher = ClickEventPublisher()
    publisher.subscribers = 1
    try:
        publisher.publish("abc")
        await asyncio.sleep(0)  # the delivery starts and waits for its ack
        for ack in list(publisher._acks.values()):
            ack.set_result(None)
        for _ in range(50):
            if len(publisher) == 0:
                break
            await asyncio.sleep(0.01)
        assert not publisher._acks
    finally:
        publisher.close()
