from tests.conftest import InProcessApp


async def test_create_resolve_read_delete(inproc: InProcessApp) -> None:
    client = inproc.client
    created = await client.post("/api/v1/links", json={"url": "https://example.org/a"})
    assert created.status_code == 201
    body = created.json()
    code = body["code"]
    assert body["short_url"] == f"http://short.test/{code}"
    assert body["expires_at"] is None

    for _ in range(3):
        redirect = await client.get(f"/{code}")
        assert redirect.status_code == 302
        assert redirect.headers["location"] == "https://example.org/a"

    meta = await client.get(f"/api/v1/links/{code}")
    assert meta.status_code == 200
    assert meta.json()["clicks"] == 3
    assert meta.json()["url"] == "https://example.org/a"

    assert (await client.delete(f"/api/v1/links/{code}")).status_code == 204
    assert (await client.get(f"/{code}")).status_code == 404
    assert (await client.get(f"/api/v1/links/{code}")).status_code == 404
    assert (await client.delete(f"/api/v1/links/{code}")).status_code == 404


async def test_alias_and_ttl(inproc: InProcessApp) -> None:
    created = await inproc.client.post(
        "/api/v1/links", json={"url": "https://example.org", "alias": "promo-1", "ttl_seconds": 60}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["code"] == "promo-1"
    assert body["expires_at"] is not None
    assert (await inproc.client.get("/promo-1")).status_code == 302


async def test_clicks_survive_a_flush(inproc: InProcessApp) -> None:
    code = (await inproc.client.post("/api/v1/links", json={"url": "https://e.org"})).json()["code"]
    await inproc.client.get(f"/{code}")
    await inproc.app.state.services.links.clicks.flush()
    await inproc.client.get(f"/{code}")
    meta = await inproc.client.get(f"/api/v1/links/{code}")
    assert meta.json()["clicks"] == 2
