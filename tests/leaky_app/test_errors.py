"""Bad input gets a clear 4xx with a message, and nothing stored changes."""

import pytest

from tests.conftest import InProcessApp


async def _stored(inproc: InProcessApp) -> int:
    count: int = await inproc.app.state.services.store.count()
    return count


@pytest.mark.parametrize(
    ("body", "status", "error", "message"),
    [
        ({"url": "ftp://example.org"}, 422, "invalid_request", "url: url must use http or https"),
        ({"url": "https://u:p@example.org"}, 422, "invalid_request", "credentials"),
        ({"url": "https://e.org/\r\nX-Evil: 1"}, 422, "invalid_request", "control"),
        ({"url": "https://e.org/" + "a" * 3000}, 422, "invalid_request", "longer than"),
        ({"url": "https://e.org", "alias": "api"}, 422, "invalid_request", "reserved"),
        ({"url": "https://e.org", "alias": "a/b"}, 422, "invalid_request", "alias"),
        ({"url": "https://e.org", "alias": "free-ride"}, 422, "invalid_request", "who pays"),
        ({"url": "https://e.org", "ttl_seconds": 0}, 422, "invalid_request", "ttl_seconds"),
        ({"url": "https://e.org", "ttl_seconds": "soon"}, 422, "invalid_request", "ttl_seconds"),
        ({"url": "https://e.org", "ttl_seconds": True}, 422, "invalid_request", "whole number"),
        ({"url": "https://e.org", "owner": "x"}, 422, "invalid_request", "owner"),
        ({}, 422, "invalid_request", "url: Field required"),
    ],
)
async def test_invalid_bodies(
    inproc: InProcessApp, body: dict[str, object], status: int, error: str, message: str
) -> None:
    for version in ("v1", "v2"):
        before = await _stored(inproc)
        response = await inproc.client.post(f"/api/{version}/links", json=body)
        assert response.status_code == status
        assert response.json()["error"] == error
        assert message in response.json()["message"]
        assert response.json()["request_id"]
        assert await _stored(inproc) == before


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"url": "https://e.org",}', b"\xff\xfe"])
async def test_malformed_json_is_400(inproc: InProcessApp, raw: bytes) -> None:
    response = await inproc.client.post(
        "/api/v1/links", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
    assert await _stored(inproc) == 0


async def test_taken_alias_is_409_and_keeps_the_first_target(inproc: InProcessApp) -> None:
    first = await inproc.client.post(
        "/api/v1/links",
        json={"url": "https://first.example", "alias": "mine", "owner_email": "a@example.org"},
    )
    assert first.status_code == 201
    second = await inproc.client.post(
        "/api/v2/links",
        json={"url": "https://second.example", "alias": "mine", "owner_email": "b@example.org"},
    )
    assert second.status_code == 409
    assert second.json()["error"] == "alias_taken"
    assert (await inproc.client.get("/mine")).headers["location"] == "https://first.example"
    assert await _stored(inproc) == 1


async def test_unknown_route_and_method(inproc: InProcessApp) -> None:
    missing = await inproc.client.get("/api/v1/nothing/here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong = await inproc.client.put("/api/v1/links")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"


async def test_an_alias_on_either_links_route_is_paid_for_and_refused_at_no_credit(
    inproc: InProcessApp,
) -> None:
    owner = "spender@example.org"
    credits = inproc.app.state.services.alias_claims.starting_credits
    for n in range(credits):
        body = {"url": "https://e.org", "alias": f"paid-{n}", "owner_email": owner}
        assert (await inproc.client.post(f"/api/v{1 + n % 2}/links", json=body)).status_code == 201
    before = await _stored(inproc)
    for version in ("v1", "v2"):
        body = {"url": "https://e.org", "alias": f"free-{version}", "owner_email": owner}
        refused = await inproc.client.post(f"/api/{version}/links", json=body)
        assert refused.status_code == 402, refused.text
        assert refused.json()["error"] == "insufficient_credits"
    assert await _stored(inproc) == before


async def test_a_405_names_every_method_of_the_path_in_allow(inproc: InProcessApp) -> None:
    refused = await inproc.client.request("OPTIONS", "/api/v1/links/abc123")
    assert refused.status_code == 405
    assert refused.json()["error"] == "method_not_allowed"
    # Each method is its own route: Starlette alone would name only the first one's.
    assert set(refused.headers["allow"].split(", ")) == {"GET", "DELETE"}
    assert (await inproc.client.put("/api/v1/links")).headers["allow"] == "POST"
