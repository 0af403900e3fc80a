"""Wiring of create_app: the debug surface carries the service's own endpoint groups, and
the lifespan undoes every step it took."""

import asyncio
from pathlib import Path

import httpx

from labctl.stack.ports import free_port
from tests.conftest import in_process, make_settings


async def test_the_debug_surface_lists_the_services_own_endpoints(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, debug_enabled=True, debug_port=free_port())
    async with in_process(settings) as app:
        server = app.app.state.debug_server
        headers = {"Authorization": f"Bearer {server.config.operator_token}"}
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base, headers=headers) as debug:
            index = (await debug.get("/debug/")).json()["endpoints"]
            faults = (await debug.get("/admin/faults")).json()
    paths = {e["path"] for e in index}
    assert {"/admin/faults", "/admin/drill", "/admin/dead-letters", "/debug/traces"} <= paths
    assert faults["active"] == {} and faults["catalogue"]


async def test_the_lifespan_leaves_no_task_and_no_thread_behind(tmp_path: Path) -> None:
    before = {t.get_name() for t in asyncio.all_tasks()}
    settings = make_settings(tmp_path, debug_enabled=True, debug_port=free_port())
    async with in_process(settings) as app:
        running = {t.get_name() for t in asyncio.all_tasks()} - before
        assert {"click-flush", "loop-lag-probe", "config-watch", "scheduler"} <= running
        thread = app.app.state.debug_server._thread
        assert thread is not None and thread.is_alive()
    assert {t.get_name() for t in asyncio.all_tasks()} - before == set()
    assert not thread.is_alive()
