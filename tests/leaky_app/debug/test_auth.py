from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from leaky_app.debug.auth import BearerAuthMiddleware
from tests.leaky_app.debug.conftest import DebugHandle


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "bearer x"])
async def test_missing_or_wrong_token_is_401_everywhere(
    debug: DebugHandle, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    async with httpx.AsyncClient(base_url=debug.base, timeout=10) as anon:
        for path in ("/debug/", "/debug/tasks", "/debug/vars", "/debug/nope"):
            response = await anon.get(path, headers=headers)
            assert response.status_code == 401, path
            assert response.json()["error"] == "unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")


async def _run_scope(scope_type: str, headers: list[tuple[bytes, bytes]]) -> tuple[bool, list[Any]]:
    """Whether the app behind the middleware was reached, and what was sent back."""
    reached = False

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal reached
        reached = True

    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": f"{scope_type}.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": scope_type, "path": "/debug/x", "headers": headers}
    await BearerAuthMiddleware(app, "s3cret")(scope, receive, send)
    return reached, sent


@pytest.mark.parametrize("scope_type", ["websocket", "webtransport", "made-up"])
async def test_every_scope_type_is_authenticated_not_only_http(scope_type: str) -> None:
    reached, sent = await _run_scope(scope_type, [])
    assert not reached
    if scope_type == "websocket":
        assert sent == [{"type": "websocket.close", "code": 1008,
                         "reason": sent[0]["reason"]}]  # fmt: skip
        assert "missing bearer token" in sent[0]["reason"]
    reached, _ = await _run_scope(scope_type, [(b"authorization", b"Bearer s3cret")])
    assert reached
    reached, _ = await _run_scope("lifespan", [])
    assert reached  # the server's own start-up has no client to authenticate
