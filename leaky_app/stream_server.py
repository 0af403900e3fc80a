"""The click stream's own websocket port: ``ws://HOST:STREAM_PORT/ws/clicks`` (seed Q375).

The same stream as ``/ws/clicks`` on the API port (:mod:`leaky_app.api.live`): the same
``?code=`` filter, token for every link's clicks, messages, slow-consumer drop (1008) and
subscriber caps (1013), on the
service's event loop and :class:`~leaky_app.links.click_stream.ClickStream`. What differs is
the cost of an idle connection, the figure that decides how many dashboards one process can
hold. On the API port a connection is an ASGI task with uvicorn's, Starlette's and FastAPI's
per-connection state, plus a second task to notice the client leaving: about 35 KiB. Here it
is an ``asyncio.Protocol`` driving the websockets library's Sans-I/O ``ServerProtocol``, with
no task at all: the loop calls it when bytes arrive, the stream calls it when events do
(``bench/results/websockets_memory.md`` has both measured).

Written on Sans-I/O rather than on ``websockets.asyncio.server``: that server keeps a handler
task and a receive queue per connection, about twice the memory measured here. This is the
integration the websockets docs describe for Sans-I/O; framing, the handshake, pings and the
close handshake stay the library's.

Usage (the service does this in its lifespan when ``stream_port`` is set)::

    server = await StreamServer.start(stream, metrics.ws, "127.0.0.1", 8001)
    ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import parse_qs, urlsplit

from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from leaky_app.links.click_stream import (
    POLICY_VIOLATION,
    ClickStream,
    StreamRefused,
    Subscriber,
)
from leaky_app.links.codes import check_alias
from leaky_app.metrics import WebsocketMetrics

log = logging.getLogger(__name__)

PATH = "/ws/clicks"
GOING_AWAY = 1001
CLOSE_TIMEOUT_SECONDS = 1.0  # a peer that does not finish the close handshake is cut off
HANDSHAKE_TIMEOUT_SECONDS = 10.0  # a connection that never asks for the stream is cut off
MAX_CLIENT_MESSAGE = 4096  # clients have nothing to say; what they send is read and ignored


class StreamConnection(asyncio.Protocol):
    """One websocket client: handshake, then the subscriber's events as text frames."""

    __slots__ = ("_abort", "_flush", "_paused", "_server", "_sub", "_transport", "_ws")

    def __init__(self, server: StreamServer) -> None:
        self._server = server
        self._ws = ServerProtocol(max_size=MAX_CLIENT_MESSAGE, logger=log)
        self._transport: asyncio.Transport | None = None
        self._sub: Subscriber | None = None
        self._paused = False  # the socket's buffers are full: events wait in the subscriber
        self._flush: asyncio.Handle | None = None
        self._abort: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.connections.add(self)
        # Until the handshake, the only timer: a socket that sends nothing holds no slot long.
        self._abort = asyncio.get_running_loop().call_later(
            HANDSHAKE_TIMEOUT_SECONDS, transport.abort
        )

    def data_received(self, data: bytes) -> None:
        self._ws.receive_data(data)
        for event in self._ws.events_received():
            # Frames need nothing from us: ServerProtocol answers pings and echoes a close
            # itself, and what a client sends is ignored (the stream is one-way).
            if isinstance(event, Request):
                self._handshake(event)
        self._send_pending()

    def eof_received(self) -> bool:
        self._ws.receive_eof()
        self._send_pending()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.forget(self)
        for handle in (self._flush, self._abort):
            if handle is not None:
                handle.cancel()
        if self._sub is not None:
            self._sub.on_ready = None
            self._sub.close()
            self._server.stream.unsubscribe(self._sub)
            self._sub = None

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._schedule()

    def close(self, code: int, reason: str) -> None:
        """Start the close handshake; the peer has CLOSE_TIMEOUT_SECONDS to answer."""
        if self._ws.state is State.OPEN:
            self._ws.send_close(code, reason[:120])  # a close frame's reason fits 123 bytes
            self._send_pending()

    def _handshake(self, request: Request) -> None:
        if self._abort is not None:
            self._abort.cancel()
            self._abort = None
        url = urlsplit(request.path)
        if url.path != PATH:
            self._ws.send_response(self._ws.reject(404, f"no stream at {url.path}; try {PATH}\n"))
            return
        response = self._ws.accept(request)
        self._ws.send_response(response)
        if response.status_code != 101:
            return  # not a websocket upgrade; the library answered why
        code = parse_qs(url.query).get("code", [None])[-1]
        if code is not None:
            try:
                check_alias(code)
            except ValueError as exc:
                self.close(POLICY_VIOLATION, f"bad code: {exc}")
                return
        peer = self._transport.get_extra_info("peername") if self._transport else None
        client = str(peer[0]) if peer else "unknown"
        try:
            self._sub = self._server.stream.subscribe(
                code, client, request.headers.get("Authorization")
            )
        except StreamRefused as exc:
            self.close(exc.close_code, str(exc))
            return
        self._sub.on_ready = self._schedule

    def _schedule(self) -> None:
        # Called from the redirect path's publish: the writes happen a moment later, off it,
        # and one flush carries every event that arrived meanwhile.
        if self._flush is None and self._transport is not None:
            self._flush = asyncio.get_running_loop().call_soon(self._pump)

    def _pump(self) -> None:
        self._flush = None
        sub = self._sub
        if sub is None or self._ws.state is not State.OPEN:
            return
        if sub.closed:
            if sub.slow:  # dropped by the stream for falling a whole queue behind
                self.close(POLICY_VIOLATION, "too slow: fell a whole queue behind")
            return
        if self._paused:
            return  # resume_writing pumps again; meanwhile the subscriber's queue fills
        batch = sub.take()
        for text in batch:
            self._ws.send_text(text.encode())
        self._server.metrics.events_sent.inc(len(batch))
        self._send_pending()

    def _send_pending(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        for data in self._ws.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()  # the library's cue: nothing more from this side
        if self._abort is None and self._ws.close_expected():
            # A peer that never completes the close (or never reads) is cut off, not waited on.
            self._abort = asyncio.get_running_loop().call_later(
                CLOSE_TIMEOUT_SECONDS, transport.abort
            )


class StreamServer:
    def __init__(self, stream: ClickStream, metrics: WebsocketMetrics) -> None:
        self.stream = stream
        self.metrics = metrics
        self.connections: set[StreamConnection] = set()
        self._server: asyncio.Server | None = None
        self._all_gone = asyncio.Event()  # set when stopping and the last connection is gone

    @classmethod
    async def start(
        cls, stream: ClickStream, metrics: WebsocketMetrics, host: str, port: int
    ) -> StreamServer:
        server = cls(stream, metrics)
        loop = asyncio.get_running_loop()
        server._server = await loop.create_server(
            lambda: StreamConnection(server), host, port, backlog=1024
        )
        return server

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def forget(self, conn: StreamConnection) -> None:
        self.connections.discard(conn)
        if not self.connections:
            self._all_gone.set()

    async def stop(self) -> None:
        """Stop listening, tell every client the service is going away, and close."""
        if self._server is None:
            return
        self._server.close()
        for conn in list(self.connections):
            conn.close(GOING_AWAY, "service shutting down")
        if self.connections:
            self._all_gone.clear()
            with contextlib.suppress(TimeoutError):
                # Each connection aborts itself CLOSE_TIMEOUT_SECONDS after its close frame.
                async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS + 1):
                    await self._all_gone.wait()
        await self._server.wait_closed()
