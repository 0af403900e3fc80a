import time

from tests.conftest import InProcessApp


async def test_unknown_and_overlong_codes_are_404(inproc: InProcessApp) -> None:
    for code in ["nope", "x" * 500, "%00", "a.b"]:
        response = await inproc.client.get(f"/{code}")
        assert response.status_code == 404, code
        assert response.json()["error"] == "not_found"


async def test_expired_link_is_404_and_not_counted(inproc: InProcessApp) -> None:
    code = (
        await inproc.client.post("/api/v1/links", json={"url": "https://e.org", "ttl_seconds": 1})
    ).json()["code"]
    assert (await inproc.client.get(f"/{code}")).status_code == 302
    # Age the cached entry instead of sleeping: the link expired a second ago.
    services = inproc.app.state.services
    target = services.links.cache.get(code)
    assert target is not None
    from leaky_app.links.cache import CachedTarget

    services.links.cache.put(code, CachedTarget(target.url, time.time() - 1))
    response = await inproc.client.get(f"/{code}")
    assert response.status_code == 404
    assert "expired" in response.json()["message"]
    assert inproc.sample("leaky_app_redirects_total", {"result": "expired"}) == 1


async def test_cache_serves_repeat_redirects(inproc: InProcessApp) -> None:
    code = (await inproc.client.post("/api/v1/links", json={"url": "https://e.org"})).json()["code"]
    for _ in range(10):
        await inproc.client.get(f"/{code}")
    labels = {"cache": "link_read"}
    assert inproc.sample("leaky_app_cache_lookups_total", {**labels, "result": "miss"}) == 1
    assert inproc.sample("leaky_app_cache_lookups_total", {**labels, "result": "hit"}) == 9
