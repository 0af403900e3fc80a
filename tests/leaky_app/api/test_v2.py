from datetime import datetime

from tests.conftest import InProcessApp


async def test_v2_answers_with_a_nested_resource(inproc: InProcessApp) -> None:
    created = await inproc.client.post(
        "/api/v2/links", json={"url": "https://example.org/v2", "ttl_seconds": 3600}
    )
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"code", "short_url", "target", "created_at", "expires_at", "stats",
                         "management_key"}  # fmt: skip
    assert body["target"] == {"url": "https://example.org/v2"}
    assert body["stats"] == {"clicks": 0, "last_click_at": None}
    created_at = datetime.fromisoformat(body["created_at"])
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert (expires_at - created_at).total_seconds() == 3600

    await inproc.client.get(f"/{body['code']}")
    got = (await inproc.client.get(f"/api/v2/links/{body['code']}")).json()
    assert got["stats"]["clicks"] == 1
    assert got["stats"]["last_click_at"] is not None


async def test_versions_share_data_but_not_shape(inproc: InProcessApp) -> None:
    made = (await inproc.client.post("/api/v1/links", json={"url": "https://e.org"})).json()
    code, key = made["code"], {"Authorization": f"Bearer {made['management_key']}"}
    v1 = (await inproc.client.get(f"/api/v1/links/{code}")).json()
    v2 = (await inproc.client.get(f"/api/v2/links/{code}")).json()
    assert v1["url"] == v2["target"]["url"]
    assert isinstance(v1["created_at"], float)
    assert isinstance(v2["created_at"], str)
    assert (await inproc.client.delete(f"/api/v2/links/{code}", headers=key)).status_code == 204
    assert (await inproc.client.get(f"/api/v1/links/{code}")).status_code == 404
