"""``/debug/loop``: the blocking call is named, and the surface answers while it blocks."""

import asyncio
import threading
import time
from typing import Any

import httpx

from tests.leaky_app.debug.conftest import DebugHandle
from tests.polling import eventually


def resolve_with_legacy_dns(seconds: float) -> None:
    time.sleep(seconds)  # a synchronous call on the event loop: the bug under test


async def test_loop_names_the_blocking_call_and_surface_answers_during_it(
    debug: DebugHandle,
) -> None:
    answered_at: dict[str, float] = {}

    def probe() -> None:
        time.sleep(0.3)  # well inside the block below
        headers = {"Authorization": f"Bearer {debug.server.token}"}
        response = httpx.get(f"{debug.base}/debug/loop", headers=headers, timeout=10)
        if response.status_code == 200 and response.json()["stalled_now_seconds"] > 0:
            answered_at["t"] = time.monotonic()

    await asyncio.sleep(0.2)  # let the heartbeat start
    prober = threading.Thread(target=probe)
    prober.start()
    resolve_with_legacy_dns(1.2)
    unblocked_at = time.monotonic()
    prober.join()
    assert answered_at["t"] < unblocked_at  # the debug surface answered while the loop was stuck

    report: dict[str, Any] = {}

    def stall_recorded() -> bool:
        report.update(debug.server.watchdog.report())
        return bool(report["stalls"])

    await eventually(stall_recorded, "the stall is recorded once the loop runs again")
    body = (await debug.client.get("/debug/loop")).json()
    stall = body["stalls"][0]
    assert stall["location"]["function"] == "resolve_with_legacy_dns"
    assert stall["seconds"] > 0.5
    assert body["lag"]["max_seconds"] > 0.5
