"""Request id middleware (seed Q374): read ``X-Request-ID`` or mint one, put it in the
contextvar for logs and downstream calls, and echo it on the response."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leaky_app.context import REQUEST_ID_HEADER, accept_or_generate, request_id_var

_HEADER_BYTES = REQUEST_ID_HEADER.encode()


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == _HEADER_BYTES:
                incoming = value.decode("latin-1")
                break
        request_id = accept_or_generate(incoming)
        token = request_id_var.set(request_id)
        header = (_HEADER_BYTES, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
