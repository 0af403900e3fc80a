"""Fault switches on the debug port: a switch is written to the flags file and in force when
answered; a bad one is refused with a sentence and nothing stored changes; only the operator
token switches, and a drill's fault is sealed in the flags file and hidden from listings."""

import json
import stat
from pathlib import Path

import httpx
import pytest

from labctl.stack.ports import free_port
from leaky_app.settings import ConfigError
from tests.conftest import in_process, make_settings
from tests.leaky_app.admin.conftest import Admin


async def test_a_switch_is_in_force_and_in_the_flags_file_when_answered(admin: Admin) -> None:
    on = await admin.debug.put("/admin/faults/cpu_hotloop", params={"intensity": "10x"})
    assert on.status_code == 200 and on.json()["active"] == {"cpu_hotloop": "10x"}
    flags = json.loads(admin.service.settings.flags_file.read_text())
    assert flags["faults"] == {"cpu_hotloop": "10x"}
    # It says which fault is on, and it switches faults: nobody else reads it.
    assert stat.S_IMODE(admin.service.settings.flags_file.stat().st_mode) == 0o600
    assert admin.service.app.state.services.switchboard.active == {"cpu_hotloop": "10x"}
    off = await admin.debug.delete("/admin/faults")
    assert off.status_code == 200 and off.json()["active"] == {}


async def test_bad_switches_are_refused_and_the_state_is_kept(admin: Admin) -> None:
    await admin.debug.put("/admin/faults/gc_churn", params={"intensity": "1x"})
    unknown = await admin.debug.put("/admin/faults/nope", params={"intensity": "1x"})
    assert unknown.status_code == 404 and "nope" in unknown.json()["message"]
    bad = await admin.debug.put("/admin/faults/gc_churn", params={"intensity": "7x"})
    assert bad.status_code == 400 and "intensity must be one of" in bad.json()["message"]
    assert (await admin.debug.get("/admin/faults")).json()["active"] == {"gc_churn": "1x"}
    await admin.debug.delete("/admin/faults")


async def test_the_observer_token_opens_the_views_but_no_switch(admin: Admin) -> None:
    assert (await admin.observer.get("/debug/gc")).status_code == 200
    for method, path in [("GET", "/admin/faults"), ("PUT", "/admin/faults/gc_churn"),
                         ("DELETE", "/admin/faults"), ("PUT", "/admin/drill")]:  # fmt: skip
        refused = await admin.observer.request(method, path, params={"fault": "gc_churn"})
        assert refused.status_code == 403, (method, path)
        assert "operator token" in refused.json()["message"]
    assert admin.service.app.state.services.switchboard.active == {}


async def test_a_drill_seals_its_fault_in_the_flags_file_and_hides_it(admin: Admin) -> None:
    started = await admin.debug.put("/admin/drill", params={"fault": "task_leak"})
    assert started.status_code == 200 and started.json()["active"] == {}
    assert admin.service.app.state.services.switchboard.active == {"task_leak": "1x"}
    text = admin.service.settings.flags_file.read_text()
    assert "task_leak" not in text and json.loads(text)["drill"] is True
    listed = (await admin.debug.get("/admin/faults")).json()
    assert listed["drill"] is True and listed["active"] == {}  # what `labctl fault list` sees
    revealed = await admin.debug.get("/admin/faults", params={"reveal": "true"})
    assert revealed.json()["active"] == {"task_leak": "1x"}  # the grading asks for it
    ended = await admin.debug.delete("/admin/drill")
    assert ended.json() == {**ended.json(), "active": {}, "drill": False}
    assert "sealed_faults" not in admin.service.settings.flags_file.read_text()


async def test_a_restarted_service_opens_its_sealed_drill(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, debug_enabled=True, debug_port=free_port())
    async with in_process(settings) as service:
        server = service.app.state.debug_server
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}",
            headers={"Authorization": f"Bearer {server.config.operator_token}"},
        ) as operator:
            await operator.put("/admin/drill", params={"fault": "gc_churn", "intensity": "10x"})
    sealed = settings.flags_file.read_text()
    settings = make_settings(tmp_path, debug_enabled=True, debug_port=free_port())
    async with in_process(settings) as again:
        assert again.app.state.services.switchboard.active == {"gc_churn": "10x"}
        assert again.app.state.services.switchboard.drill
    # Sealed with one operator token, it does not open with another: the start says why.
    (tmp_path / "operator.token").write_text("another\n")
    with pytest.raises(ConfigError, match="do not open with this service's operator token"):
        async with in_process(make_settings(tmp_path, debug_enabled=True, debug_port=free_port())):
            pass
    assert settings.flags_file.read_text() == sealed  # nothing stored is lost
