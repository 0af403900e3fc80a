"""The service in-process with its debug surface on a free port, and a client of that port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from labctl.stack.ports import free_port
from tests.conftest import InProcessApp, in_process, make_settings


@dataclass
class Admin:
    service: InProcessApp
    debug: httpx.AsyncClient


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[Admin]:
    settings = make_settings(tmp_path, debug_enabled=True, debug_port=free_port())
    async with in_process(settings) as service:
        server = service.app.state.debug_server
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}",
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=30,
        ) as debug:
            yield Admin(service, debug)
