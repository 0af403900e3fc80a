"""``/debug/heap``: a window and a diff rank the growing allocation site first."""

import asyncio
import threading
import time

from tests.leaky_app.debug.conftest import DebugHandle

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
