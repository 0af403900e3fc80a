"""Bearer-token auth for the debug surface (seed Q376), with two scopes.

* The **observer** token (``run/debug.token``) opens every debug view: what a trainee uses.
  It is generated at each start.
* The **operator** token (``run/operator.token``) opens those too, and the endpoints marked
  ``operator`` (the fault switches and the drill's answer): what ``labctl fault``, ``labctl
  drill`` and an instructor hold. It is generated once and kept, since it also seals a drill's
  state on disk (:mod:`leaky_app.admin.drill_seal`).

Both are written with mode 0600 so only the service's user can read them, and compared in
constant time so response timing leaks nothing about them.
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


def kept_token(path: Path) -> str:
    """The token in ``path``, or a new one written there (0600) when it has none."""
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = ""
    if not token:
        token = new_token()
        write_token(path, token)
    return token


OPERATOR = "operator"  # the scope key a request's ``state`` carries: True for the operator


class BearerAuthMiddleware:
    def __init__(self, app: ASGIApp, token: str, operator_token: str | None = None) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        # Without an operator token, the one token does everything (a foreign service).
        self._operator = f"Bearer {operator_token or token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # the server's own start and stop: no client in it
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                given = value
                break
        operator = hmac.compare_digest(given, self._operator)
        if operator or hmac.compare_digest(given, self._expected):
            scope.setdefault("state", {})[OPERATOR] = operator
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
