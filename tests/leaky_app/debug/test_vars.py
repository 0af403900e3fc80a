"""``/debug/vars``: what this process is, with every secret masked."""

from tests.leaky_app.debug.conftest import DebugHandle


async def test_vars_masks_secrets(debug: DebugHandle) -> None:
    body = (await debug.client.get("/debug/vars")).json()
    assert body["settings"]["api_token"] == "***"
    assert body["settings"]["redis_url"] == "redis://u:***@h/0"
    assert body["settings"]["port"] == 8000
    assert "hunter2" not in str(body)
    assert body["pid"] > 0
