"""Lab 02, the fix exercise: screening a redirect's URL with the reputation service must not
hold the event loop while the answer travels; other requests go on meanwhile.

The test runs the real reputation service (mTLS, the lab's CA) with a 50 ms lookup per URL,
screens ten redirects at once, and watches the loop. ``ReputationClient.screen`` may stay a
plain function or become a coroutine (then its caller awaits it): both are tried.

This test fails until the fix is made. Check your fix with::

    labctl lab check 02 --fix
"""

import asyncio
import inspect
import time
from pathlib import Path

from labctl.contract import RunLayout
from labctl.stack.ports import free_port
from labctl.stack.processes import stop
from labctl.stack.reputation_service import start_reputation
from leaky_app.links.reputation import ReputationClient
from reputation.client import Identity

LOOKUP_S = 0.05
REDIRECTS = 10


async def screened(client: ReputationClient, url: str) -> str | None:
    answer = client.screen(url)
    return await answer if inspect.isawaitable(answer) else answer


async def longest_stall(work: asyncio.Future[object], tick: float = 0.005) -> float:
    """The longest the loop went without running a 5 ms ticker while ``work`` ran."""
    longest = 0.0
    while not work.done():
        started = time.perf_counter()
        await asyncio.sleep(tick)
        longest = max(longest, time.perf_counter() - started - tick)
    return longest


async def test_ten_screenings_at_once_leave_the_loop_free(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "run")
    lookup = ["--url-lookup-ms", str(int(LOOKUP_S * 1000))]
    service = start_reputation(layout, free_port(), free_port(), extra_args=lookup)
    client = ReputationClient(Identity.of(layout.pki, "leaky-app"), service.urls["grpc"])
    client.share = 1.0
    try:
        assert await screened(client, "https://shop.example/warm-up") is None  # a safe URL
        work = asyncio.ensure_future(asyncio.gather(
            *(screened(client, f"https://shop.example/p/{i}") for i in range(REDIRECTS))
        ))  # fmt: skip
        stall = await longest_stall(work)
        assert await work == [None] * REDIRECTS
    finally:
        client.close()
        stop(service)
    serial = REDIRECTS * LOOKUP_S
    assert stall < 0.3 * serial, (
        f"the loop stood still for {stall * 1000:.0f} ms while {REDIRECTS} redirects were "
        f"screened ({LOOKUP_S * 1000:.0f} ms each): each call waits for its answer on the "
        "loop's own thread, so every other request waits with it"
    )


async def test_an_unsafe_target_is_still_refused(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "run")
    service = start_reputation(layout, free_port(), free_port())
    client = ReputationClient(Identity.of(layout.pki, "leaky-app"), service.urls["grpc"])
    client.share = 1.0
    try:
        refusal = await screened(client, "javascript:alert(1)")
    finally:
        client.close()
        stop(service)
    assert refusal is not None
