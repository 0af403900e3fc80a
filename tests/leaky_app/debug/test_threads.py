"""``/debug/threads``: every thread's stack, the loop's and the debug server's own."""

from tests.leaky_app.debug.conftest import DebugHandle


async def test_threads_lists_the_loop_and_the_debug_server(debug: DebugHandle) -> None:
    names = {t["name"] for t in (await debug.client.get("/debug/threads")).json()["threads"]}
    assert "MainThread" in names
    assert "debug-server" in names
