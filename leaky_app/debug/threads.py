"""Every thread's stack, innermost frame first."""

from __future__ import annotations

import sys
import threading
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leaky_app.debug.endpoints import Endpoint
from leaky_app.debug.frames import stack_of


def thread_stacks() -> list[dict[str, Any]]:
    names = {t.ident: t for t in threading.enumerate()}
    result = []
    for ident, frame in sys._current_frames().items():
        thread = names.get(ident)
        result.append(
            {
                "id": ident,
                "name": thread.name if thread else f"thread-{ident}",
                "daemon": thread.daemon if thread else None,
                "stack": [f.to_json() for f in stack_of(frame)],
            }
        )
    return sorted(result, key=lambda t: t["name"])


def thread_endpoints() -> list[Endpoint]:
    async def threads(request: Request) -> Response:
        return JSONResponse({"threads": thread_stacks()})

    return [Endpoint("/debug/threads", ("GET",), "every thread's stack", "", threads)]
