"""Collections off the request path: nothing is collected while a request is in flight, the
young generations are once it is quiet, and a full collection only above the memory ceiling;
stopping puts automatic collection back."""

from __future__ import annotations

import gc
import time

from leaky_app.debug.idle_gc import IdleCollector, RequestActivity
from tests.leaky_app.debug.conftest import DebugHandle
from tests.polling import eventually_sync


def collections(generation: int) -> int:
    return int(gc.get_stats()[generation]["collections"])


def test_young_collections_wait_for_a_quiet_moment_and_full_ones_for_the_ceiling() -> None:
    activity = RequestActivity()
    idle = IdleCollector(activity)
    kept: list[list[int]] = []
    try:
        activity.started()  # a request in flight
        idle.start(ceiling_bytes=2**40)  # a ceiling out of reach
        assert not gc.isenabled() and idle.state().running
        young, full = collections(0) + collections(1), collections(2)
        kept += [[] for _ in range(20_000)]  # far past gen 0's threshold
        time.sleep(0.1)
        assert collections(0) + collections(1) == young  # not during the request
        activity.finished()
        eventually_sync(lambda: collections(0) + collections(1) > young, "a young collection")
        assert idle.state().young_collections >= 1
        assert collections(2) == full and idle.state().full_collections == 0
        idle.start(ceiling_bytes=1)  # every byte is above this ceiling
        eventually_sync(lambda: idle.state().full_collections >= 1, "a full collection")
        assert collections(2) > full
    finally:
        stopped = idle.stop()
    assert gc.isenabled() and not stopped.running
    assert len(kept) == 20_000


async def test_the_idle_collector_starts_and_stops_and_refuses_no_ceiling(
    debug: DebugHandle,
) -> None:
    try:
        missing = await debug.client.put("/debug/gc/idle")
        assert missing.status_code == 400 and "ceiling_mb" in missing.json()["message"]
        huge = await debug.client.put("/debug/gc/idle?ceiling_mb=999999999")
        assert huge.status_code == 400
        started = await debug.client.put("/debug/gc/idle?ceiling_mb=4096")
        assert started.json()["running"] is True and not gc.isenabled()
        assert (await debug.client.get("/debug/gc/idle")).json()["ceiling_bytes"] == 4096 * 2**20
    finally:
        stopped = await debug.client.delete("/debug/gc/idle")
    assert stopped.json()["running"] is False and gc.isenabled()
