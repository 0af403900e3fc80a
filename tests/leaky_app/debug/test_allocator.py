"""Allocator memory in ``/debug/gc``: it moves with live data."""

from tests.leaky_app.debug.conftest import DebugHandle


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
