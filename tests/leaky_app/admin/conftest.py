"""The service in-process with its debug surface on a free port, and clients of that port:
the operator's (``debug``) and the observer's."""

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
    debug: httpx.AsyncClient  # with the operator token
    observer: httpx.AsyncClient  # with the observer token (what a trainee holds)


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[Admin]:
    settings = make_settings(tmp_path, debug_enabled=True, debug_port=free_port())
    async with in_process(settings) as service:
        server = service.app.state.debug_server
        base = f"http://127.0.0.1:{server.port}"
        operator = {"Authorization": f"Bearer {server.config.operator_token}"}
        observer = {"Authorization": f"Bearer {server.token}"}
        async with (
            httpx.AsyncClient(base_url=base, headers=operator, timeout=30) as debug,
            httpx.AsyncClient(base_url=base, headers=observer, timeout=30) as trainee,
        ):
            yield Admin(service, debug, trainee)
