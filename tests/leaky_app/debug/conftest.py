"""A DebugServer watching the test's own event loop, on a free loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from labctl.stack.ports import free_port
from leaky_app.debug import DebugConfig, DebugServer
from leaky_app.debug.idle_gc import IdleCollector, RequestActivity, idle_gc_endpoints


@dataclass
class DebugHandle:
    server: DebugServer
    client: httpx.AsyncClient
    token_file: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"


@pytest.fixture
async def debug(tmp_path: Path) -> AsyncIterator[DebugHandle]:
    server = DebugServer(
        DebugConfig(token_file=tmp_path / "debug.token", port=free_port(), max_seconds=10),
        loop=asyncio.get_running_loop(),
        settings=lambda: {"port": 8000, "api_token": "hunter2", "redis_url": "redis://u:pw@h/0"},
        extra=idle_gc_endpoints(IdleCollector(RequestActivity())),  # as the service adds it
    )
    server.start()
    headers = {"Authorization": f"Bearer {server.token}"}
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}", headers=headers, timeout=30
        ) as client:
            yield DebugHandle(server, client, tmp_path / "debug.token")
    finally:
        server.stop()
