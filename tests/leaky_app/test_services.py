"""The rate limit dependency: a client over its bucket gets 429 with Retry-After, and a new
limit applies by hot reload."""

import json

from tests.conftest import InProcessApp
from tests.polling import eventually


async def test_rate_limit_429_with_retry_after_and_hot_reload(inproc: InProcessApp) -> None:
    for _ in range(20):
        assert (await inproc.client.get("/api/v1/links/x")).status_code == 404
    inproc.settings.flags_file.write_text(json.dumps({"rate_limit": {"rps": 0.5, "burst": 2}}))
    services = inproc.app.state.services
    await eventually(lambda: services.limiter.config.burst == 2, "flags file change applied")
    statuses = [(await inproc.client.get("/api/v1/links/x")).status_code for _ in range(5)]
    assert statuses[:2] == [404, 404]
    assert statuses[2:] == [429, 429, 429]
    limited = await inproc.client.get("/api/v2/links/x")
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    # Health probes are never rate limited.
    assert (await inproc.client.get("/livez")).status_code == 200
    assert (
        inproc.sample("leaky_app_rate_limited_requests_total", {"route": "/api/v1/links/{code}"})
        == 3
    )
    assert inproc.sample("leaky_app_config_reloads_total", {"result": "applied"}) == 1
