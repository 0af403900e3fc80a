"""Target app for gunicorn with uvicorn workers (a master and its worker processes): a
plain ASGI app. ``GET /price?seconds=N&mark=PATH`` writes the PID of the worker that takes it
to PATH, then spends N seconds of CPU in ``price_basket`` there; every other path answers at
once.

    gunicorn -k uvicorn_worker.UvicornWorker -w 2 -b 127.0.0.1:PORT \\
        tests.labctl.targets.workers_app:app
"""

import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def price_basket(seconds: float) -> int:
    total, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        for i in range(10_000):
            total = (total * 31 + i) % 1_000_003
    return total


def price(query: dict[str, list[str]]) -> int:
    """The handler's synchronous work: it blocks the worker's loop, as CPU-bound code does."""
    if "mark" in query:
        Path(query["mark"][0]).write_text(f"{os.getpid()}\n")
    return price_basket(float(query.get("seconds", ["1"])[0]))


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":  # lifespan: nothing to set up
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        return
    if scope["path"] == "/price":
        query = parse_qs(scope["query_string"].decode())
        price(query)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})  # fmt: skip
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
