"""The debug surface's endpoint record and its uniform, bounded parameters.

Every endpoint group (tasks, heap, gc, ...) returns a list of :class:`Endpoint`; the app
builds its routes, its index and its busy lock from those records. A parameter out of range
raises :class:`BadParam`, answered with 400 and the sentence::

    def thread_endpoints() -> list[Endpoint]:
        async def threads(request: Request) -> Response: ...
        return [Endpoint("/debug/threads", ("GET",), "every thread's stack", "", threads)]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Handler = Callable[[Request], Awaitable[Response]]


class BadParam(ValueError):
    """A query parameter is missing or out of range; answered with 400."""


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: tuple[str, ...]
    summary: str
    params: str
    handler: Handler
    expensive: bool = False  # one at a time; 429 while another runs
    operator: bool = False  # the operator token only (leaky_app.debug.auth)


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParam(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise BadParam(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def seconds_param(request: Request, max_seconds: float, default: float, required: bool) -> float:
    raw = request.query_params.get("seconds")
    if raw is None:
        if required:
            raise BadParam("seconds is required")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadParam(f"seconds must be a number, got {raw!r}") from None
    if not 0 < value <= max_seconds:
        raise BadParam(f"seconds must be > 0 and at most {max_seconds:g}, got {raw}")
    return value


def choice_param(request: Request, name: str, choices: Sequence[str]) -> str:
    value = request.query_params.get(name, choices[0])
    if value not in choices:
        raise BadParam(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value
