"""``/ws/clicks`` on a real service process (seed Q375): clicks stream live, a slow consumer
is dropped without holding up the others, and the subscriber cap refuses clearly. Each test
runs against both listeners: the API port (FastAPI) and the stream port
(``leaky_app.stream_server``), which must behave the same."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from labctl.contract import RunLayout
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import ProcessRecord, stop
from labctl.stack.service import start_service
from tests.integration.load import scrape
from tests.live import LiveService
from tests.polling import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(params=["api port", "stream port"])
def listener(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def ws_url(urls: dict[str, str], listener: str, query: str = "") -> str:
    if listener == "stream port":
        return urls["stream"] + query
    return urls["api"].replace("http://", "ws://") + "/ws/clicks" + query


def port_of(url: str) -> int:
    return int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def create(api: str, url: str) -> str:
    response = httpx.post(f"{api}/api/v1/links", json={"url": url}, timeout=10)
    assert response.status_code == 201, response.text
    code: str = response.json()["code"]
    return code


async def click(client: httpx.AsyncClient, code: str) -> None:
    assert (await client.get(f"/{code}")).status_code == 302


async def test_clicks_stream_live_and_a_code_filter_keeps_only_that_link(
    live_service: LiveService, listener: str
) -> None:
    api, urls = live_service.url, live_service.record.urls
    mine, other = create(api, "https://live.example/mine"), create(api, "https://live.example/x")
    before = metric(live_service, "leaky_app_ws_clients")
    async with (
        connect(ws_url(urls, listener)) as everything,
        connect(ws_url(urls, listener, f"?code={mine}")) as only_mine,
        httpx.AsyncClient(base_url=api, timeout=10) as client,
    ):
        await eventually(
            lambda: metric(live_service, "leaky_app_ws_clients") >= before + 2, "subscribed"
        )
        await everything.send("hello")  # what clients send, text or bytes, is ignored
        await everything.send(b"\x00\x01")
        await click(client, other)
        await click(client, mine)
        first, second = [json.loads(await asyncio.wait_for(everything.recv(), 10)) for _ in "ab"]
        assert [first["code"], second["code"]] == [other, mine]
        assert second["url"] == "https://live.example/mine"
        only = json.loads(await asyncio.wait_for(only_mine.recv(), 10))
        assert only["code"] == mine  # the other link's click never reached it


def metric(service: LiveService, name: str) -> float:
    return scrape(service.metrics_url).get(name, 0.0)


async def test_a_bad_code_is_refused_with_a_reason(
    live_service: LiveService, listener: str
) -> None:
    async with connect(ws_url(live_service.record.urls, listener, "?code=no%20spaces")) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert "bad code" in closed.value.rcvd.reason


@pytest.fixture
def small_service(tmp_path: Path) -> Iterator[ProcessRecord]:
    """A service whose subscribers may fall 64 events behind, and at most 3 of them."""
    record = start_service(
        RunLayout(tmp_path),
        ServicePorts.free(),
        extra_args=["--ws-queue-size", "64", "--ws-max-clients", "3", "--no-notify-enabled"],
    )
    try:
        yield record
    finally:
        stop(record)


def tiny_receive_buffer_socket(port: int) -> socket.socket:
    """A client socket that accepts little: a fixed 4 KiB receive buffer (no autotuning)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def test_a_slow_consumer_is_dropped_and_the_others_get_every_click(
    small_service: ProcessRecord, listener: str
) -> None:
    api = small_service.urls["api"]
    metrics_url = small_service.urls["metrics"]
    # 2 KiB events, so the stuck client's socket buffers fill in a few thousand at most.
    code = create(api, "https://live.example/" + "x" * 2000)
    url = ws_url(small_service.urls, listener)
    received: list[str] = []

    async def read_forever(ws: ClientConnection) -> None:
        async for message in ws:
            received.append(json.loads(message)["code"])

    async with (
        connect(url) as reader,
        # max_queue=1: the client library stops reading the socket after one unread frame.
        connect(url, sock=tiny_receive_buffer_socket(port_of(url)), max_queue=1),
        httpx.AsyncClient(base_url=api, timeout=10) as client,
    ):
        reading = asyncio.create_task(read_forever(reader))
        sent = 0
        # Click until the server gives up on the stuck client (bounded: 8000 clicks).
        while scrape(metrics_url).get("leaky_app_ws_dropped_slow_total", 0) == 0:
            assert sent < 8000, "the stuck client was never dropped"
            await asyncio.gather(*(click(client, code) for _ in range(16)))  # < the queue
            sent += 16
        await eventually(lambda: len(received) == sent, "the reader got every click", 30)
        reading.cancel()
        assert received == [code] * sent  # none lost, none held up by the stuck client
        samples = scrape(metrics_url)
        assert samples["leaky_app_ws_dropped_slow_total"] == 1
        assert samples["leaky_app_ws_clients"] == 1  # the stuck one is gone, the reader stays
        assert samples["leaky_app_ws_events_sent_total"] >= sent


async def test_over_the_cap_a_new_subscriber_is_told_to_try_later(
    small_service: ProcessRecord, listener: str
) -> None:
    url = ws_url(small_service.urls, listener)
    async with connect(url), connect(url), connect(url):
        async with connect(url) as fourth:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(fourth.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        assert "try again later" in closed.value.rcvd.reason
        assert scrape(small_service.urls["metrics"])["leaky_app_ws_refused_total"] == 1
