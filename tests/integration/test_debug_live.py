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
