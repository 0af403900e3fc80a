"""``GET /api/v1/notifications``: the notifier's health in numbers, never an address."""

from tests.conftest import InProcessApp


async def test_the_status_counts_and_names_no_recipient(inproc: InProcessApp) -> None:
    await inproc.client.post(
        "/api/v1/links", json={"url": "https://shop.example", "owner_email": "o@shop.example"}
    )
    response = await inproc.client.get("/api/v1/notifications")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"queued", "in_flight", "outbox_pending", "dead_letters", "breaker"}
    assert body["queued"] + body["in_flight"] + body["outbox_pending"] >= 1  # the new notice
    assert body["breaker"] in {"closed", "opened", "half-opened"}
    assert "o@shop.example" not in response.text
