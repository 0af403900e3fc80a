"""``/ws/clicks``: click events as they happen, over a websocket (seed Q375).

``?code=abc`` limits the stream to one link; anyone may ask for that. Without it, the stream
carries every link's clicks and needs ``Authorization: Bearer <observer token>`` (1008
otherwise). Each message is a JSON text frame ``{"code", "url", "at"}``. The server only
writes; what a client sends is ignored. A client that falls ``ws_queue_size`` events behind is
dropped with close code 1008; over ``ws_max_clients`` subscribers, or ``ws_max_per_client``
anonymous ones from one address, a new connection is closed at once with 1013 (try later).
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from leaky_app.links.click_stream import POLICY_VIOLATION, StreamRefused, Subscriber
from leaky_app.links.codes import check_alias
from leaky_app.services import Services

router = APIRouter(tags=["live"])
CLOSE_TIMEOUT_SECONDS = 1.0


async def _close_when_gone(websocket: WebSocket, sub: Subscriber) -> None:
    # RuntimeError: receiving after the server closed the socket (a dropped slow consumer).
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # text or bytes, what a client sends is ignored: the stream is one-way
    sub.close()


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    # Accepted first: a close before the handshake is a bare HTTP 403, and the client would
    # never see the code and the reason.
    await websocket.accept()
    await websocket.close(code, reason[:120])  # a close frame's reason fits in 123 bytes


@router.websocket("/ws/clicks")
async def click_stream(websocket: WebSocket, code: str | None = None) -> None:
    services: Services = websocket.app.state.services
    if code is not None:
        try:
            check_alias(code)
        except ValueError as exc:
            await _refuse(websocket, POLICY_VIOLATION, f"bad code: {exc}")
            return
    client = websocket.client.host if websocket.client else "unknown"
    try:
        sub = services.click_stream.subscribe(code, client, websocket.headers.get("authorization"))
    except StreamRefused as exc:
        await _refuse(websocket, exc.close_code, str(exc))
        return
    # One task besides this one, to notice the client leaving while we wait for clicks.
    watcher: asyncio.Task[None] | None = None
    try:
        await websocket.accept()
        watcher = asyncio.create_task(_close_when_gone(websocket, sub), name="ws-clicks-watch")
        sent = services.metrics.ws.events_sent
        while batch := await sub.next():
            for text in batch:
                await websocket.send_text(text)
            sent.inc(len(batch))
        if sub.slow:  # dropped by the stream for falling a whole queue behind
            # The socket may be too full for even a close frame; then uvicorn closes it.
            with contextlib.suppress(TimeoutError, WebSocketDisconnect, RuntimeError):
                async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                    await websocket.close(POLICY_VIOLATION, "too slow: fell a whole queue behind")
    except (WebSocketDisconnect, OSError):
        pass  # gone while we were writing to it
    finally:
        if watcher is not None:
            watcher.cancel()
        services.click_stream.unsubscribe(sub)
