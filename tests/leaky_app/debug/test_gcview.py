"""``/debug/gc``: a threshold change shows in collection counts, and older collections are
blamed on the code building cycles."""

from __future__ import annotations

import gc
import time
from typing import Any

from tests.leaky_app.debug.conftest import DebugHandle


class _OrderNode:
    def __init__(self, parent: _OrderNode | None) -> None:
        self.parent = parent
        self.children: list[_OrderNode] = []


def build_order_graphs(n: int) -> int:
    """Parent/child cycles, kept alive a while: what makes old-generation collections run."""
    kept: list[_OrderNode] = []
    for _ in range(n):
        root = _OrderNode(None)
        root.children.append(_OrderNode(root))
        kept.append(root)
    return len(kept)


async def test_gc_threshold_change_takes_effect_in_collection_counts(debug: DebugHandle) -> None:
    def gen0_collections_during_churn() -> int:
        before = gc.get_stats()[0]["collections"]
        # gen0's count is allocations minus deallocations of tracked containers, so the
        # objects must stay alive for the threshold to be crossed.
        junk: list[Any] = [[] for _ in range(200_000)]
        del junk
        return int(gc.get_stats()[0]["collections"] - before)

    original = gc.get_threshold()
    try:
        low = await debug.client.put("/debug/gc/threshold?gen0=100&gen1=10&gen2=10")
        assert low.json()["threshold"] == [100, 10, 10]
        frequent = gen0_collections_during_churn()
        await debug.client.put("/debug/gc/threshold?gen0=50000&gen1=10&gen2=10")
        rare = gen0_collections_during_churn()
        assert frequent > 20 * max(rare, 1)
        state = (await debug.client.get("/debug/gc")).json()
        assert state["threshold"] == [50000, 10, 10]
        assert state["pauses"]["0"]["count"] >= frequent
        assert state["pauses"]["0"]["p99_seconds"] is not None

        frozen = (await debug.client.post("/debug/gc/freeze")).json()["frozen_objects"]
        assert frozen > 1000
        assert (await debug.client.post("/debug/gc/unfreeze")).json()["frozen_objects"] == 0
        collected = (await debug.client.post("/debug/gc/collect?generation=2")).json()
        assert collected["generation"] == 2
    finally:
        gc.set_threshold(*original)
        gc.unfreeze()


async def test_gc_triggers_blame_the_code_building_cycles_not_the_constructor(
    debug: DebugHandle,
) -> None:
    original = gc.get_threshold()
    try:
        gc.set_threshold(700, 2, 2)  # frequent older collections, so the test is quick
        build_order_graphs(300_000)
    finally:
        gc.set_threshold(*original)
    triggers = (await debug.client.get("/debug/gc")).json()["triggers"]
    assert triggers, "no older-generation collection was attributed"
    top = triggers[0]
    assert top["function"] == "build_order_graphs", triggers[:3]
    assert top["collections"] >= 10
    assert top["pause_seconds"] > 0


async def test_turning_the_collector_off_takes_an_explicit_disable(debug: DebugHandle) -> None:
    original = gc.get_threshold()
    try:
        slip = await debug.client.put("/debug/gc/threshold?gen0=0")
        assert slip.status_code == 400
        assert "add disable=true" in slip.json()["message"]
        assert gc.get_threshold() == original  # nothing changed
        mixed = await debug.client.put("/debug/gc/threshold?gen0=700&disable=true")
        assert mixed.status_code == 400 and gc.get_threshold() == original
        meant = await debug.client.put("/debug/gc/threshold?gen0=0&disable=true")
        assert meant.status_code == 200
        assert "automatic collection is off" in meant.json()["warning"]
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*original)


async def test_older_collections_are_kept_one_by_one_with_their_time(debug: DebugHandle) -> None:
    before = time.time()
    await debug.client.post("/debug/gc/collect?generation=2")
    state = (await debug.client.get("/debug/gc")).json()
    recent = [p for p in state["recent_pauses"] if p["at"] >= before]
    assert [p["generation"] for p in recent] == [2] and recent[0]["seconds"] > 0
