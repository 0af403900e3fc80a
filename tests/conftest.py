"""Shared fixtures: an in-process app on a fresh registry, and a real service process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from labctl.stack.ports import free_port
from leaky_app.app import create_app
from leaky_app.settings import Settings

# The live service and fault-lab fixtures, shared by every test folder (one service a session).
pytest_plugins = ["tests.live"]


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for an in-process app: files under tmp_path, no metrics thread, no .env."""
    values: dict[str, Any] = {
        "db": tmp_path / "links.db",
        "flags_file": tmp_path / "flags.json",
        "metrics_port": 0,
        "stream_port": 0,
        "debug_enabled": False,
        "gc_freeze_at_startup": False,  # the test process's heap is not the app's to freeze
        "debug_token_file": tmp_path / "debug.token",
        "operator_token_file": tmp_path / "operator.token",
        "public_url": "http://short.test",
        "smtp_port": free_port(),  # nothing listens: in-process apps never mail a real server
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class InProcessApp:
    app: FastAPI
    client: httpx.AsyncClient
    registry: CollectorRegistry
    settings: Settings

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float:
        value = self.registry.get_sample_value(name, labels or {})
        return 0.0 if value is None else value


async def start_in_process(settings: Settings) -> tuple[FastAPI, CollectorRegistry]:
    registry = CollectorRegistry()
    return create_app(settings, registry), registry


@pytest.fixture
async def inproc(tmp_path: Path) -> AsyncIterator[InProcessApp]:
    async with in_process(make_settings(tmp_path)) as app:
        yield app


@asynccontextmanager
async def in_process(settings: Settings) -> AsyncIterator[InProcessApp]:
    """The app with its lifespan running, and an httpx client talking to it over ASGI."""
    app, registry = await start_in_process(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://short.test") as client,
    ):
        yield InProcessApp(app, client, registry, settings)
