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

    key = {"Authorization": f"Bearer {body['management_key']}"}
    assert (await client.delete(f"/api/v1/links/{code}", headers=key)).status_code == 204
    assert (await client.get(f"/{code}")).status_code == 404
    assert (await client.get(f"/api/v1/links/{code}")).status_code == 404
    assert (await client.delete(f"/api/v1/links/{code}", headers=key)).status_code == 404


async def test_only_the_management_key_deletes_a_link_and_a_refusal_keeps_it(
    inproc: InProcessApp,
) -> None:
    client = inproc.client
    mine = (await client.post("/api/v1/links", json={"url": "https://example.org/m"})).json()
    other = (await client.post("/api/v2/links", json={"url": "https://example.org/o"})).json()
    assert len(mine["management_key"]) >= 32 and mine["management_key"] != other["management_key"]
    for version in ("v1", "v2"):
        path = f"/api/{version}/links/{mine['code']}"
        anonymous = await client.delete(path)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"] == "management_key_required"
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        for wrong in (f"Bearer {other['management_key']}", "Bearer x", "Basic abc"):
            refused = await client.delete(path, headers={"Authorization": wrong})
            assert refused.status_code in (401, 403), (wrong, refused.text)
        wrong_key = await client.delete(path, headers={"Authorization": "Bearer x"})
        assert wrong_key.status_code == 403
        assert wrong_key.json()["error"] == "wrong_management_key"
        assert (await client.get(f"/{mine['code']}")).status_code == 302  # still there
    # The key is stored as a hash only, and never shown again.
    stored = await inproc.app.state.services.store.get(mine["code"])
    assert stored.key_hash and mine["management_key"] not in stored.key_hash
    assert "management_key" not in (await client.get(f"/api/v1/links/{mine['code']}")).json()


async def test_alias_and_ttl(inproc: InProcessApp) -> None:
    created = await inproc.client.post(
        "/api/v1/links",
        json={"url": "https://example.org", "alias": "promo-1", "ttl_seconds": 60,
              "owner_email": "promo@example.org"},
    )  # fmt: skip
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
