from tests.conftest import InProcessApp


async def test_incoming_id_is_echoed(inproc: InProcessApp) -> None:
    response = await inproc.client.get("/livez", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


async def test_missing_or_unsafe_id_is_replaced(inproc: InProcessApp) -> None:
    plain = await inproc.client.get("/livez")
    unsafe = await inproc.client.get("/livez", headers={"X-Request-ID": "a b\tc"})
    ids = {plain.headers["x-request-id"], unsafe.headers["x-request-id"]}
    assert len(ids) == 2
    assert all(len(i) == 32 for i in ids)


async def test_error_bodies_carry_the_same_id(inproc: InProcessApp) -> None:
    response = await inproc.client.get("/missing-code", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 404
    assert response.json()["request_id"] == "trace-me"
    assert response.headers["x-request-id"] == "trace-me"
