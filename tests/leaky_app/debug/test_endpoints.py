"""Bounded parameters: a value out of range is a 400 with a sentence naming it."""

from tests.leaky_app.debug.conftest import DebugHandle


async def test_oversized_or_bad_seconds_is_400(debug: DebugHandle) -> None:
    for query in ("seconds=11", "seconds=0", "seconds=-1", "seconds=abc", "seconds=1e9"):
        response = await debug.client.get(f"/debug/profile?{query}")
        assert response.status_code == 400, query
        assert "seconds" in response.json()["message"]
    response = await debug.client.get("/debug/heap?seconds=100")
    assert response.status_code == 400


async def test_bad_params_are_400_with_a_sentence(debug: DebugHandle) -> None:
    cases = {
        "/debug/tasks?group=bogus": "group must be one of",
        "/debug/tasks?limit=0": "limit must be between",
        "/debug/objects/backrefs": "type is required",
        "/debug/profile?format=xml": "format must be one of",
    }
    for path, message in cases.items():
        response = await debug.client.get(path)
        assert response.status_code == 400, path
        assert message in response.json()["message"]
    put = await debug.client.put("/debug/gc/threshold?gen0=-5")
    assert put.status_code == 400
