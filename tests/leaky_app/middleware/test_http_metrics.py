from tests.conftest import InProcessApp


async def test_route_label_is_the_template_not_the_code(inproc: InProcessApp) -> None:
    codes = []
    for i in range(20):
        created = await inproc.client.post("/api/v1/links", json={"url": f"https://e.org/{i}"})
        codes.append(created.json()["code"])
    for code in codes:
        await inproc.client.get(f"/{code}")
    await inproc.client.get("/api/v1/links/unknown")
    labels = {"method": "GET", "route": "/{code}", "status": "302"}
    assert inproc.sample("leaky_app_http_requests_total", labels) == 20
    assert (
        inproc.sample(
            "leaky_app_http_requests_total",
            {"method": "GET", "route": "/api/v1/links/{code}", "status": "404"},
        )
        == 1
    )
    routes = {
        s.labels["route"]
        for m in inproc.registry.collect()
        if m.name == "leaky_app_http_requests"
        for s in m.samples
    }
    assert routes == {"/api/v1/links", "/{code}", "/api/v1/links/{code}"}
    count = inproc.sample(
        "leaky_app_http_request_duration_seconds_count", {"method": "GET", "route": "/{code}"}
    )
    assert count == 20


async def test_unrouted_requests_share_one_label(inproc: InProcessApp) -> None:
    await inproc.client.get("/a/b/c")
    await inproc.client.get("/d/e/f")
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    assert inproc.sample("leaky_app_http_requests_total", labels) == 2
