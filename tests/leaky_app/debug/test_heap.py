"""``/debug/heap``: a window and a diff rank the growing allocation site first."""

import asyncio
import threading
import time
import tracemalloc

from tests.leaky_app.debug.conftest import DebugHandle
from tests.polling import eventually

_hoard: list[bytes] = []


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
        assert "test_heap.py" in window["growth"][0]["site"]["file"]
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


async def test_a_started_trace_stops_by_itself_and_cannot_outlast_the_window(
    debug: DebugHandle,
) -> None:
    try:
        too_long = await debug.client.post("/debug/heap/start?seconds=11")  # the window is 10 s
        assert too_long.status_code == 400 and not tracemalloc.is_tracing()
        started = (await debug.client.post("/debug/heap/start?seconds=0.5")).json()
        assert started["tracing"] is True and 0 < started["stops_in_seconds"] <= 0.5
        await eventually(lambda: not tracemalloc.is_tracing(), "tracing stops by itself", 10)
        assert (await debug.client.get("/debug/heap/diff")).status_code == 409
        default = (await debug.client.post("/debug/heap/start")).json()
        assert 9 < default["stops_in_seconds"] <= 10  # the surface's window, when not given
    finally:
        await debug.client.post("/debug/heap/stop")
    assert not tracemalloc.is_tracing()
