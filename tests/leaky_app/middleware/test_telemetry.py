import json
import logging

import pytest

from tests.conftest import InProcessApp
from tests.polling import eventually


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


async def test_access_log_keeps_errors_and_samples_successes(
    inproc: InProcessApp, caplog: pytest.LogCaptureFixture
) -> None:
    code = (await inproc.client.post("/api/v1/links", json={"url": "https://e.org"})).json()["code"]
    watcher = inproc.app.state.services.config

    def access_lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "leaky_app.access"]

    with caplog.at_level(logging.INFO, logger="leaky_app.access"):
        inproc.settings.flags_file.write_text(json.dumps({"access_log": {"sample_rate": 0}}))
        await eventually(lambda: watcher.current.access_log.sample_rate == 0, "sampling off")
        caplog.clear()
        for _ in range(20):
            await inproc.client.get(f"/{code}")
        await inproc.client.get("/unknown-code")
        assert [r.status for r in access_lines()] == [404]  # type: ignore[attr-defined]

        inproc.settings.flags_file.write_text(json.dumps({"access_log": {"sample_rate": 1}}))
        await eventually(lambda: watcher.current.access_log.sample_rate == 1, "sampling all")
        caplog.clear()
        for _ in range(5):
            await inproc.client.get(f"/{code}", headers={"X-Request-ID": "sampled"})
        lines = access_lines()
        assert len(lines) == 5
        assert {r.route for r in lines} == {"/{code}"}  # type: ignore[attr-defined]
        assert {r.status for r in lines} == {302}  # type: ignore[attr-defined]
