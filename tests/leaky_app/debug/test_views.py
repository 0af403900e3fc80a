"""Each view names what it should: the leaking task site, the hot function, the growing
allocation site, the blocking call; measured on the test's own live event loop."""

import asyncio
import gc
import threading
import time
from typing import Any

import httpx

from tests.leaky_app.debug.conftest import DebugHandle
from tests.polling import eventually

_parked: list[asyncio.Task[None]] = []
_hoard: list[bytes] = []


async def _wait_forever(future: asyncio.Future[None]) -> None:
    await future


def register_webhook_waiters(n: int, future: asyncio.Future[None]) -> None:
    """Creates tasks that await a future nobody resolves: a task leak in miniature."""
    for _ in range(n):
        _parked.append(asyncio.create_task(_wait_forever(future)))


async def test_tasks_group_by_site_ranks_the_leaking_site_first(debug: DebugHandle) -> None:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    short_lived = [asyncio.create_task(asyncio.sleep(0.01)) for _ in range(3)]
    register_webhook_waiters(60, future)
    try:
        body = (await debug.client.get("/debug/tasks?group=site")).json()
        top = body["groups"][0]
        assert "register_webhook_waiters" in top["site"]
        assert top["count"] == 60
        assert body["creation_sites_recorded"] is True

        listing = (await debug.client.get("/debug/tasks?limit=1000")).json()["tasks"]
        leaked = [t for t in listing if "register_webhook_waiters" in t["site"]]
        assert len(leaked) == 60
        chain = leaked[0]["await_chain"]
        assert any("_wait_forever" in frame for frame in chain)
        assert chain[-1].startswith("awaiting Future")
        assert leaked[0]["age_seconds"] is not None

        victim = leaked[0]["id"]
        response = await debug.client.post(f"/debug/tasks/{victim}/cancel")
        assert response.status_code == 202
        await eventually(lambda: any(t.cancelled() for t in _parked), "the task is cancelled")
        history = (await debug.client.get("/debug/tasks/history")).json()["finished"]
        assert any(h["id"] == victim and h["outcome"] == "cancelled" for h in history)
        assert (await debug.client.post("/debug/tasks/999999999/cancel")).status_code == 404
    finally:
        future.cancel()
        await asyncio.gather(*_parked, *short_lived, return_exceptions=True)
        _parked.clear()


async def test_threads_lists_the_loop_and_the_debug_server(debug: DebugHandle) -> None:
    names = {t["name"] for t in (await debug.client.get("/debug/threads")).json()["threads"]}
    assert "MainThread" in names
    assert "debug-server" in names


def checksum_catalogue(stop: threading.Event) -> None:
    """Busy CPU work in a named function, for the sampler to find."""
    total = 0
    while not stop.is_set():
        for i in range(10_000):
            total = (total * 31 + i) % 1_000_003


async def test_profile_finds_the_hot_function(debug: DebugHandle) -> None:
    stop = threading.Event()
    worker = threading.Thread(target=checksum_catalogue, args=(stop,), name="busy")
    worker.start()
    try:
        body = (await debug.client.get("/debug/profile?seconds=1&hz=200")).json()
        speedscope = (await debug.client.get("/debug/profile?seconds=0.5&format=speedscope")).json()
    finally:
        stop.set()
        worker.join()
    top = body["top"][0]
    assert top["function"] == "checksum_catalogue"
    assert top["self_pct"] > 50
    assert "checksum_catalogue" in body["collapsed"]
    assert body["samples"] > 50
    frames = speedscope["shared"]["frames"]
    profile = speedscope["profiles"][0]
    assert profile["type"] == "sampled"
    assert len(profile["samples"]) == len(profile["weights"])
    assert any(f["name"] == "checksum_catalogue" for f in frames)
    assert all(i < len(frames) for s in profile["samples"] for i in s)


def remember_thumbnail(size: int) -> None:
    _hoard.append(b"x" * size)


async def test_heap_window_and_diff_rank_the_growing_site_first(debug: DebugHandle) -> None:
    stop = threading.Event()

    def grow() -> None:
        while not stop.is_set():
            for _ in range(50):
                remember_thumbnail(4096)
            time.sleep(0.01)

    worker = threading.Thread(target=grow)
    worker.start()
    try:
        window = (await debug.client.get("/debug/heap?seconds=1")).json()
        assert window["growth"], window
        assert "test_views.py" in window["growth"][0]["site"]["file"]
        assert any("remember_thumbnail" not in t for t in window["growth"][0]["traceback"])
        grown_by = window["growth"][0]["size_diff_bytes"]
        assert grown_by > 100 * 4096

        assert (await debug.client.get("/debug/heap/diff")).status_code == 409  # not tracing
        await debug.client.post("/debug/heap/start?frames=8")
        first = (await debug.client.get("/debug/heap/diff")).json()
        assert first["growth"] == []
        await asyncio.sleep(0.5)
        second = (await debug.client.get("/debug/heap/diff")).json()
        top = second["growth"][0]
        assert top["site"]["line"] == remember_thumbnail.__code__.co_firstlineno + 1
        assert top["count_diff"] > 10
    finally:
        stop.set()
        worker.join()
        await debug.client.post("/debug/heap/stop")
        _hoard.clear()


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


async def test_gc_view_reports_allocator_memory_that_moves_with_live_data(
    debug: DebugHandle,
) -> None:
    async def allocator() -> dict[str, int]:
        state: dict[str, int] = (await debug.client.get("/debug/gc")).json()["allocator"]
        return state

    before = await allocator()
    pages = [bytes(64 * 1024) + bytes([i % 256]) for i in range(320)]  # 20 MiB of big objects
    nodes = [(i, str(i)) for i in range(200_000)]  # small objects: pymalloc blocks
    during = await allocator()
    del pages, nodes
    after = await allocator()
    assert during["malloc_in_use_bytes"] - before["malloc_in_use_bytes"] > 18 * 2**20
    assert during["pymalloc_blocks"] - before["pymalloc_blocks"] > 300_000
    # Freed memory leaves the allocators' counts at once, whatever RSS does.
    assert after["malloc_in_use_bytes"] < during["malloc_in_use_bytes"] - 18 * 2**20
    assert after["pymalloc_blocks"] < during["pymalloc_blocks"] - 300_000


class _OrderNode:
    def __init__(self, parent: "_OrderNode | None") -> None:
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


class Widget:
    def __init__(self) -> None:
        self.payload = [0] * 4


widget_registry: dict[int, Widget] = {}


async def test_objects_growth_and_backrefs_name_the_type(debug: DebugHandle) -> None:
    await debug.client.get("/debug/objects/growth?limit=50")  # baseline
    for i in range(5000):
        widget_registry[i] = Widget()
    try:
        growth = (await debug.client.get("/debug/objects/growth?limit=50")).json()["growth"]
        row = next(r for r in growth if r["type"].endswith("Widget"))
        assert row["delta"] >= 5000
        common = (await debug.client.get("/debug/objects?limit=100")).json()["most_common"]
        assert any(r["type"].endswith("Widget") for r in common)
        backrefs = f"/debug/objects/backrefs?type={row['type']}&max_depth=10"
        body = (await debug.client.get(backrefs)).json()
        chain = body["chain"]
        assert chain[0].startswith("builtins.module")
        assert any("widget_registry" in hop for hop in chain)
        assert chain[-1].endswith("Widget")
        assert "note" not in body
        missing = await debug.client.get("/debug/objects/backrefs?type=NoSuchType")
        assert missing.status_code == 404
        # The registry frozen (as the service's start-up freeze does), widgets added after:
        # gc.get_referrers no longer sees who holds them, and the answer says so.
        widget_registry.clear()
        gc.freeze()
        try:
            for i in range(100):
                widget_registry[i] = Widget()
            frozen = (await debug.client.get(backrefs)).json()
        finally:
            gc.unfreeze()
        assert not frozen["chain"][0].startswith("builtins.module")
        assert "gc/unfreeze" in frozen["note"]
    finally:
        widget_registry.clear()
