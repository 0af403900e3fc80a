"""Click events for subscribers: each click starts one delivery per subscriber, and close()
releases every delivery still waiting."""

import asyncio

from leaky_app.links.events import ClickEventPublisher


async def test_no_subscriber_no_delivery() -> None:
    publisher = ClickEventPublisher()
    publisher.publish("abc")
    assert len(publisher) == 0


async def test_deliveries_wait_for_acks_up_to_the_cap_and_close_releases_them() -> None:
    publisher = ClickEventPublisher(max_inflight=25)
    publisher.subscribers = 3
    before = len(asyncio.all_tasks())
    for _ in range(5):
        publisher.publish("abc")
    await asyncio.sleep(0)
    assert len(publisher) == 15 and len(asyncio.all_tasks()) - before == 15
    for _ in range(5):
        publisher.publish("abc")
    assert len(publisher) == 25  # the lab's cap
    publisher.close()
    await asyncio.sleep(0)
    assert len(publisher) == 0 and len(asyncio.all_tasks()) == before
