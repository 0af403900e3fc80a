"""``/ws/clicks`` on a real service process (seed Q375): clicks stream live, a slow consumer
is dropped without holding up the others, and the caps refuse clearly. Every link's clicks
need the observer token; anyone may follow one link's, and sees no other link's URL; one
address holds a bounded number of anonymous streams. Each test runs against both listeners:
the API port (FastAPI) and the stream port (``leaky_app.stream_server``), which must behave
the same."""

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


def observer(run_dir: Path) -> dict[str, str]:
    """The header that opens every link's clicks: the debug surface's token."""
    return {"Authorization": f"Bearer {RunLayout(run_dir).debug_token.read_text().strip()}"}


async def refusal(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """The close code and reason a refused subscription gets."""
    async with connect(url, additional_headers=headers) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


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
        connect(
            ws_url(urls, listener), additional_headers=observer(live_service.run_dir)
        ) as everything,
        connect(ws_url(urls, listener, f"?code={mine}")) as only_mine,  # anonymous
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
        assert only["url"] == "https://live.example/mine"


@pytest.mark.parametrize("token", [None, "Bearer guessed"])
async def test_every_links_clicks_are_refused_without_the_observer_token(
    live_service: LiveService, listener: str, token: str | None
) -> None:
    before = metric(live_service, 'leaky_app_ws_refused_total{reason="token_required"}')
    headers = {"Authorization": token} if token else None
    code, reason = await refusal(ws_url(live_service.record.urls, listener), headers)
    assert (code, "?code=" in reason) == (1008, True)
    after = metric(live_service, 'leaky_app_ws_refused_total{reason="token_required"}')
    assert after == before + 1


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
    """A service whose subscribers may fall 64 events behind, at most 3 of them, and 2 from
    one address without the token."""
    record = start_service(
        RunLayout(tmp_path),
        ServicePorts.free(),
        extra_args=["--ws-queue-size", "64", "--ws-max-clients", "3", "--ws-max-per-client",
                    "2", "--no-notify-enabled"],
    )  # fmt: skip
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


def run_dir_of(record: ProcessRecord) -> Path:
    return Path(record.log).parent.parent  # run/logs/service.log


async def test_a_slow_consumer_is_dropped_and_the_others_get_every_click(
    small_service: ProcessRecord, listener: str
) -> None:
    api = small_service.urls["api"]
    headers = observer(run_dir_of(small_service))
    metrics_url = small_service.urls["metrics"]
    # 2 KiB events, so the stuck client's socket buffers fill in a few thousand at most.
    code = create(api, "https://live.example/" + "x" * 2000)
    url = ws_url(small_service.urls, listener)
    received: list[str] = []

    async def read_forever(ws: ClientConnection) -> None:
        async for message in ws:
            received.append(json.loads(message)["code"])

    async with (
        connect(url, additional_headers=headers) as reader,
        # max_queue=1: the client library stops reading the socket after one unread frame.
        connect(
            url,
            sock=tiny_receive_buffer_socket(port_of(url)),
            max_queue=1,
            additional_headers=headers,
        ),  # fmt: skip
        httpx.AsyncClient(base_url=api, timeout=10) as client,
    ):
        reading = asyncio.create_task(read_forever(reader))
        sent = 0
        # Click until the server gives up on the stuck client (bounded: 8000 clicks), reading
        # /metrics every 64 clicks (a scrape costs more than a round of clicks).
        while scrape(metrics_url).get("leaky_app_ws_dropped_slow_total", 0) == 0:
            assert sent < 8000, "the stuck client was never dropped"
            for _ in range(4):
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
    headers = observer(run_dir_of(small_service))
    async with (
        connect(url, additional_headers=headers),
        connect(url, additional_headers=headers),
        connect(url, additional_headers=headers),
    ):
        code, reason = await refusal(url, headers)
        assert (code, "try again later" in reason) == (1013, True)
        refused = scrape(small_service.urls["metrics"])
        assert refused['leaky_app_ws_refused_total{reason="full"}'] == 1


async def test_one_address_holds_its_share_of_anonymous_streams_and_no_more(
    small_service: ProcessRecord, listener: str
) -> None:
    one_link = ws_url(small_service.urls, listener, "?code=popular")
    async with connect(one_link), connect(one_link):
        code, reason = await refusal(one_link)
        assert (code, "2 streams from this address" in reason) == (1013, True)
        refused = scrape(small_service.urls["metrics"])
        assert refused['leaky_app_ws_refused_total{reason="per_client"}'] == 1
        # The token holder is held to the global cap only: the third subscriber is theirs.
        async with connect(one_link, additional_headers=observer(run_dir_of(small_service))):
            await eventually(
                lambda: scrape(small_service.urls["metrics"])["leaky_app_ws_clients"] == 3,
                "the token holder subscribed",
            )
