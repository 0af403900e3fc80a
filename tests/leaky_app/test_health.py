import asyncio
from pathlib import Path

from tests.conftest import InProcessApp, in_process, make_settings


async def test_livez_and_readyz_when_healthy(inproc: InProcessApp) -> None:
    assert (await inproc.client.get("/livez")).json() == {"status": "ok"}
    ready = await inproc.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}, "degraded": {}}


async def test_readyz_is_503_with_the_reason_when_the_database_is_gone(
    inproc: InProcessApp,
) -> None:
    inproc.settings.db.unlink()
    ready = await inproc.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert "missing" in ready.json()["checks"]["database"]
    # Liveness does not depend on the database: a restart would not fix it.
    assert (await inproc.client.get("/livez")).status_code == 200


async def test_readyz_stays_ready_but_reports_a_mail_server_outage(tmp_path: Path) -> None:
    # make_settings points SMTP at a free port: nothing answers there.
    settings = make_settings(tmp_path, smtp_breaker_threshold=1, notify_poll_seconds=0.05)
    async with in_process(settings) as inproc:
        created = await inproc.client.post(
            "/api/v1/links", json={"url": "https://e.org", "owner_email": "o@example.org"}
        )
        assert created.status_code == 201

        async def degraded() -> dict[str, str]:
            body: dict[str, dict[str, str]] = (await inproc.client.get("/readyz")).json()
            return body["degraded"]

        for _ in range(200):
            if await degraded():
                break
            await asyncio.sleep(0.05)
        ready = await inproc.client.get("/readyz")
        assert ready.status_code == 200
        assert "breaker open" in ready.json()["degraded"]["smtp"]
        status = (await inproc.client.get("/api/v1/notifications")).json()
        assert status["outbox_pending"] == 1 and status["dead_letters"] == 0
