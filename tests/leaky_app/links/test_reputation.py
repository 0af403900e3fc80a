"""The reputation check: off, nothing is checked; on, the vendor's synchronous round trip
holds the event loop that calls it (nothing else runs meanwhile)."""

import asyncio

from leaky_app.links.reputation import ReputationClient


def test_off_means_unchecked() -> None:
    assert ReputationClient().lookup("https://shop.example") == "unchecked"


async def test_on_the_call_blocks_the_loop_it_is_made_from() -> None:
    client = ReputationClient(max_block_ms=200)
    client.latency_ms = 50
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    assert client.lookup("https://shop.example") == "clean"
    assert ticks == before  # not one tick while the lookup ran
    await asyncio.sleep(0)
    assert ticks > before
    task.cancel()
