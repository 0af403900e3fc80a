"""``POST /api/v1/aliases``: the saga over HTTP, with clear refusals."""

from tests.conftest import InProcessApp

OWNER = "buyer@example.org"


async def claim(
    inproc: InProcessApp, alias: str, owner: str = OWNER
) -> tuple[int, dict[str, object]]:
    response = await inproc.client.post(
        "/api/v1/aliases", json={"alias": alias, "url": "https://e.org", "owner_email": owner}
    )
    body: dict[str, object] = response.json()
    return response.status_code, body


async def test_claims_spend_credits_then_402_and_taken_aliases_409(inproc: InProcessApp) -> None:
    lefts = []
    for alias in ("sale-1", "sale-2", "sale-3"):
        status, body = await claim(inproc, alias)
        assert status == 201, body
        lefts.append(body["credits_left"])
    assert lefts == [2, 1, 0]
    status, body = await claim(inproc, "sale-4")
    assert (status, body["error"]) == (402, "insufficient_credits")
    status, body = await claim(inproc, "sale-1", owner="other@example.org")
    assert (status, body["error"]) == (409, "alias_taken")
    redirect = await inproc.client.get("/sale-1", follow_redirects=False)
    assert redirect.status_code == 302
    # The refused claims kept nothing: sale-4 does not exist.
    assert (await inproc.client.get("/api/v1/links/sale-4")).status_code == 404


async def test_bad_claims_are_422_with_the_field(inproc: InProcessApp) -> None:
    for body in (
        {"alias": "x y", "url": "https://e.org", "owner_email": OWNER},
        {"alias": "fine", "url": "ftp://e.org", "owner_email": OWNER},
        {"alias": "fine", "url": "https://e.org"},
        {"alias": "fine", "url": "https://e.org", "owner_email": OWNER, "extra": 1},
    ):
        response = await inproc.client.post("/api/v1/aliases", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid_request"


async def test_a_claimed_alias_is_deleted_with_the_key_its_claim_returned(
    inproc: InProcessApp,
) -> None:
    status, body = await claim(inproc, "owned-1")
    assert status == 201 and len(str(body["management_key"])) >= 32
    path = "/api/v1/links/owned-1"
    assert (await inproc.client.delete(path)).status_code == 401
    key = {"Authorization": f"Bearer {body['management_key']}"}
    assert (await inproc.client.delete(path, headers=key)).status_code == 204
