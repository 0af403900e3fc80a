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


async def test_the_preview_shows_the_target_and_keeps_the_visitors_query(
    inproc: InProcessApp,
) -> None:
    made = await inproc.client.post("/api/v1/links", json={"url": "https://shop.example/a?x=1"})
    code = made.json()["code"]
    response = await inproc.client.get(f"/{code}+?utm_campaign=spring&click_id=7")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "This link goes to shop.example" in page
    assert (
        'href="https://shop.example/a?x=1&amp;utm_campaign=spring&amp;click_id=7">Continue' in page
    )
    assert "<svg" in page and f'download="{code}.png"' in page
    # A preview is not a click: nothing counted, nothing redirected.
    assert inproc.sample("leaky_app_redirects_total", {"result": "found"}) == 0
    link = (await inproc.client.get(f"/api/v1/links/{code}")).json()
    assert link["clicks"] == 0


async def test_previews_of_unknown_and_overlong_codes_are_404_and_not_missed_redirects(
    inproc: InProcessApp,
) -> None:
    for code in ["nope", "x" * 500]:
        response = await inproc.client.get(f"/{code}+")
        assert response.status_code == 404, code
        assert response.json()["error"] == "not_found"
    assert inproc.sample("leaky_app_redirects_total", {"result": "missing"}) == 0
