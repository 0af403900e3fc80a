"""Bearer-token auth for the debug surface (seed Q376).

The token is generated at start, written with mode 0600 so only the service's user can read
it, and compared in constant time so response timing leaks nothing about it.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def new_token() -> str:
    return secrets.token_urlsafe(32)


def write_token(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the file may have existed with wider permissions
        os.write(fd, token.encode() + b"\n")
    finally:
        os.close(fd)


class BearerAuthMiddleware:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # the server's own start and stop: no client in it
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                given = value
                break
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        message = (
            "missing bearer token" if not given else "wrong bearer token"
        ) + "; send 'Authorization: Bearer <token>' (the token file is mode 0600)"
        if scope["type"] == "http":
            response = JSONResponse(
                {"error": "unauthorized", "message": message},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="debug"'},
            )
            await response(scope, receive, send)
        elif scope["type"] == "websocket":
            # Refused before it is accepted: 1008 is "policy violation".
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        # Any other scope type is dropped: nothing unauthenticated reaches the app.
