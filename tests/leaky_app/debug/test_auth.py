import httpx
import pytest

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
