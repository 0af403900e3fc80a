"""The debug app: an index of every endpoint, and one expensive profile at a time (429)."""

import asyncio

from tests.leaky_app.debug.conftest import DebugHandle


async def test_index_lists_every_endpoint_with_a_summary(debug: DebugHandle) -> None:
    body = (await debug.client.get("/debug/")).json()
    paths = {e["path"] for e in body["endpoints"]}
    for expected in ("/debug/tasks", "/debug/threads", "/debug/profile", "/debug/heap",
                     "/debug/heap/diff", "/debug/gc", "/debug/loop", "/debug/objects",
                     "/debug/vars"):  # fmt: skip
        assert expected in paths
    assert all(e["summary"] for e in body["endpoints"])
    text = (await debug.client.get("/debug/?format=text")).text
    assert "/debug/profile" in text
    assert "seconds" in text


async def test_second_concurrent_profile_is_429(debug: DebugHandle) -> None:
    first = asyncio.create_task(debug.client.get("/debug/profile?seconds=1.5"))
    await asyncio.sleep(0.3)
    second = await debug.client.get("/debug/heap?seconds=1")
    assert second.status_code == 429
    assert second.json()["error"] == "busy"
    assert (await first).status_code == 200
    third = await debug.client.get("/debug/objects?limit=3")
    assert third.status_code == 200
