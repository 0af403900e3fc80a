"""Fault switches on the debug port: a switch is written to the flags file and in force when
answered; a bad one is refused with a sentence and nothing stored changes."""

import json
import stat

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
