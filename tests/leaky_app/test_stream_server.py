"""The stream port's listener in-process, on a real loopback socket: what the API-port tests
(tests/integration/test_websockets_live.py, run against both listeners) do not cover."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from leaky_app import stream_server
from leaky_app.links.click_stream import ClickStream
from leaky_app.metrics import Metrics
from leaky_app.stream_server import StreamServer
from tests.polling import eventually


@pytest.fixture
async def server() -> AsyncIterator[StreamServer]:
    metrics = Metrics.create(CollectorRegistry(), runtime_collectors=False)
    stream = ClickStream(max_subscribers=10, queue_size=8, metrics=metrics.ws)
    stream.token = TOKEN
    server = await StreamServer.start(stream, metrics.ws, "127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


TOKEN = "observer"
OBSERVER = {"Authorization": f"Bearer {TOKEN}"}  # every link's clicks


def url(server: StreamServer, path: str = "/ws/clicks") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


async def test_events_published_in_one_go_arrive_in_order_and_leave_no_task(
    server: StreamServer,
) -> None:
    tasks_before = len(asyncio.all_tasks())
    # No keepalive task either.
    async with connect(url(server), ping_interval=None, additional_headers=OBSERVER) as ws:
        await eventually(lambda: len(server.stream) == 1, "subscribed")
        assert len(asyncio.all_tasks()) == tasks_before  # an idle connection is no task
        for n in range(5):
            server.stream.publish(f"c{n}", "https://e.org", float(n))
        got = [json.loads(await asyncio.wait_for(ws.recv(), 5))["code"] for _ in range(5)]
    assert got == ["c0", "c1", "c2", "c3", "c4"]
    await eventually(lambda: len(server.stream) == 0 and not server.connections, "gone")


async def test_another_path_gets_404_with_the_right_one_named(server: StreamServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url(server, "/ws/other")):
            pass
    assert refused.value.response.status_code == 404
    assert b"/ws/clicks" in refused.value.response.body
    assert len(server.stream) == 0


async def test_a_plain_http_request_gets_a_clear_4xx(server: StreamServer) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/ws/clicks")
    assert 400 <= response.status_code < 500
    assert "websocket" in response.text.lower()
    assert len(server.stream) == 0


async def test_stopping_tells_every_client_the_service_is_going_away(
    server: StreamServer,
) -> None:
    async with (
        connect(url(server, "/ws/clicks?code=popular")) as a,
        connect(url(server), additional_headers=OBSERVER) as b,
    ):
        await eventually(lambda: len(server.stream) == 2, "both subscribed")
        await server.stop()
        for ws in (a, b):
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert len(server.stream) == 0
    assert not server.connections


async def test_a_connection_that_never_asks_for_the_stream_is_cut_off(
    server: StreamServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_server, "HANDSHAKE_TIMEOUT_SECONDS", 0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing said
    finally:
        writer.close()
    await eventually(lambda: not server.connections, "forgotten")
