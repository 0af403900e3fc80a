import stat

import httpx
import pytest

from labctl.stack.ports import free_port
from leaky_app.debug import DebugConfig, DebugServer
from tests.leaky_app.debug.conftest import DebugHandle


async def test_token_file_is_private_and_matches(debug: DebugHandle) -> None:
    mode = stat.S_IMODE(debug.token_file.stat().st_mode)
    assert mode == 0o600
    assert debug.token_file.read_text().strip() == debug.server.token


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


def test_non_loopback_bind_needs_explicit_setting(tmp_path: object) -> None:
    import asyncio
    from pathlib import Path

    loop = asyncio.new_event_loop()
    try:
        config = DebugConfig(token_file=Path(str(tmp_path)) / "t", host="0.0.0.0", port=free_port())
        with pytest.raises(ValueError, match="loopback-only"):
            DebugServer(config, loop=loop)
    finally:
        loop.close()


async def test_index_lists_every_endpoint_with_a_summary(debug: DebugHandle) -> None:
    body = (await debug.client.get("/debug/")).json()
    paths = {e["path"] for e in body["endpoints"]}
    for expected in ("/debug/tasks", "/debug/threads", "/debug/profile", "/debug/heap",
                     "/debug/heap/diff", "/debug/gc", "/debug/loop", "/debug/objects",
                     "/debug/vars"):  # fmt: skip
        assert expected in paths
    assert all(e["summary"] for e in body["endpoints"])
    text = (await debug.client.get("/debug/?format=text")).text
    assert "/debug/profile" in text
    assert "seconds" in text


async def test_vars_masks_secrets(debug: DebugHandle) -> None:
    body = (await debug.client.get("/debug/vars")).json()
    assert body["settings"]["api_token"] == "***"
    assert body["settings"]["redis_url"] == "redis://u:***@h/0"
    assert body["settings"]["port"] == 8000
    assert "hunter2" not in str(body)
    assert body["pid"] > 0
