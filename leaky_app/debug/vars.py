"""``/debug/vars``: what is this process? Versions, pid, uptime, settings with secrets masked."""

from __future__ import annotations

import os
import platform
import re
import sys
import time
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leaky_app.debug.endpoints import Endpoint

_SECRET_KEY = re.compile(r"secret|token|passw|credential|private|api_?key|auth", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@", re.I)
MASK = "***"
PACKAGES = ("fastapi", "uvicorn", "starlette", "pydantic", "prometheus-client", "objgraph")


def redact(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Mask values under secret-looking keys, and passwords inside URLs anywhere."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if _SECRET_KEY.search(key):
            out[key] = MASK if value not in (None, "") else value
        elif isinstance(value, Mapping):
            out[key] = redact(value)
        elif isinstance(value, str):
            out[key] = _URL_PASSWORD.sub(rf"\g<scheme>\g<user>:{MASK}@", value)
        else:
            out[key] = value
    return out


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def process_vars(started: float, settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "uptime_seconds": round(time.monotonic() - started, 3),
        "python": sys.version,
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "packages": {name: _version(name) for name in PACKAGES},
        "settings": redact(settings),
    }


def vars_endpoints(started: float, settings: Callable[[], Mapping[str, Any]]) -> list[Endpoint]:
    async def vars_(request: Request) -> Response:
        return JSONResponse(process_vars(started, settings()))

    return [
        Endpoint("/debug/vars", ("GET",), "versions, pid, uptime, settings (secrets masked)", "",
                 vars_)
    ]  # fmt: skip
