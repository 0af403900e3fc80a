from tests.conftest import InProcessApp


async def test_livez_and_readyz_when_healthy(inproc: InProcessApp) -> None:
    assert (await inproc.client.get("/livez")).json() == {"status": "ok"}
    ready = await inproc.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}


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
