"""The real service mounts the debug surface on its own port, with a private token file."""

import stat

import httpx
import pytest

from tests.live import LiveService

pytestmark = pytest.mark.integration


def test_debug_surface_is_mounted_and_guarded(live_service: LiveService) -> None:
    token_file = live_service.run_dir / "debug.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert httpx.get(f"{live_service.debug_url}/debug/", timeout=10).status_code == 401
    with live_service.debug_client() as debug:
        index = debug.get("/debug/").json()
        assert len(index["endpoints"]) >= 15
        tasks = debug.get("/debug/tasks?group=site").json()
        assert tasks["count"] >= 3
        assert tasks["creation_sites_recorded"] is True
        sites = " ".join(g["site"] for g in tasks["groups"])
        assert "leaky_app/app.py" in sites  # the lifespan's background loops
        variables = debug.get("/debug/vars").json()
        assert variables["settings"]["port"] == live_service.ports.http
        assert variables["settings"]["db"] == str(live_service.run_dir / "leaky_app.db")
        assert variables["settings"]["debug_token_file"] == "***"  # "token" keys are masked


def test_none_of_the_services_own_loops_can_be_cancelled(live_service: LiveService) -> None:
    with live_service.debug_client() as debug:
        listing = debug.get("/debug/tasks?limit=5000").json()["tasks"]
        own = [t for t in listing if t["name"] in ("click-flush", "config-watch", "scheduler")]
        assert {t["name"] for t in own} == {"click-flush", "config-watch", "scheduler"}
        for task in own:
            refused = debug.post(f"/debug/tasks/{task['id']}/cancel")
            assert refused.status_code == 409, (task["name"], refused.text)
        still = {t["id"] for t in debug.get("/debug/tasks?limit=5000").json()["tasks"]}
    assert {t["id"] for t in own} <= still  # every one still running
