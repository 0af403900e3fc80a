"""``/debug/traces``: a traced request's spans from the buffer; bad ids refused."""

from tests.leaky_app.admin.conftest import Admin


async def test_bad_or_unknown_trace_ids_are_refused(admin: Admin) -> None:
    assert (await admin.debug.get("/debug/traces", params={"limit": 0})).status_code == 400
    bad = await admin.debug.get("/debug/traces/not-a-trace")
    assert bad.status_code == 400 and "32 hex digits" in bad.json()["message"]
    missing = await admin.debug.get(f"/debug/traces/{'0' * 32}")
    assert missing.status_code == 404 and "buffer" in missing.json()["message"]


async def test_a_traced_request_is_listed_with_its_spans(admin: Admin) -> None:
    await admin.service.client.post(
        "/api/v1/links", json={"url": "https://shop.example"}, headers={"traceparent":
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )  # fmt: skip
    listed = (await admin.debug.get("/debug/traces")).json()["traces"]
    assert any(t["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" for t in listed), listed
    spans = (await admin.debug.get("/debug/traces/4bf92f3577b34da6a3ce929d0e0e4736")).json()
    assert spans["spans"]
