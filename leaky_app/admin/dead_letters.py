"""Dead letters on the debug port (bearer token, loopback): list them, send one again.

They hold owners' email addresses, so they are not on the public API. The handlers run on
the debug surface's own thread and loop; the outbox's database connections belong to the
service's loop, so each query is handed to that loop and awaited from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leaky_app.debug.endpoints import Endpoint, int_param
from leaky_app.outbox import Outbox

T = TypeVar("T")
QUERY_TIMEOUT_SECONDS = 5.0


def dead_letter_endpoints(
    outbox: Callable[[], Outbox | None], loop: asyncio.AbstractEventLoop
) -> list[Endpoint]:
    """``outbox()`` is None until the service has opened its database."""

    async def on_service_loop(make: Callable[[Outbox], Coroutine[Any, Any, T]]) -> T | Response:
        box = outbox()
        if box is None:
            return JSONResponse(
                {"error": "starting", "message": "the service is still starting"}, 503
            )
        future = asyncio.run_coroutine_threadsafe(make(box), loop)
        try:
            async with asyncio.timeout(QUERY_TIMEOUT_SECONDS):
                return await asyncio.wrap_future(future)
        except TimeoutError:
            return JSONResponse(
                {"error": "busy", "message": "the service loop did not answer within 5 s"}, 503
            )

    async def list_dead(request: Request) -> Response:
        limit = int_param(request, "limit", 100, 1, 1000)
        after = int_param(request, "after", 0, 0, 2**62)
        rows = await on_service_loop(lambda box: box.dead_letters(limit, after))
        if isinstance(rows, Response):
            return rows
        return JSONResponse({"dead_letters": [row.to_json() for row in rows]})

    async def retry_dead(request: Request) -> Response:
        raw = request.path_params["row_id"]
        if not raw.isdigit():
            return JSONResponse(
                {"error": "bad_param", "message": f"id must be an integer, got {raw!r}"}, 400
            )
        row_id = int(raw)
        moved = await on_service_loop(lambda box: box.retry_dead(row_id))
        if isinstance(moved, Response):
            return moved
        if not moved:
            return JSONResponse(
                {"error": "not_found", "message": f"no dead letter with id {row_id}"}, 404
            )
        return JSONResponse({"id": row_id, "state": "pending"})

    return [
        Endpoint("/admin/dead-letters", ("GET",), "notices given up on, oldest first",
                 "limit=1..1000, after=ID", list_dead),
        Endpoint("/admin/dead-letters/{row_id}/retry", ("POST",),
                 "send a dead letter again (back to pending)", "", retry_dead),
    ]  # fmt: skip
