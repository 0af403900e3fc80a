"""Bad input to the fault switch gets a clear 4xx and changes nothing."""

import json

import httpx
import pytest

from tests.integration.load import scrape
from tests.live import FaultLab
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


def active(lab: FaultLab, reveal: bool = False) -> dict[str, str]:
    with lab.service.operator_client() as debug:
        params = {"reveal": "true"} if reveal else {}
        body: dict[str, str] = debug.get("/admin/faults", params=params).json()["active"]
    return body


def test_bad_switch_requests_are_refused_and_change_nothing(fault_lab: FaultLab) -> None:
    fault_lab.switch("cpu_hotloop", "1x")
    try:
        flags_before = fault_lab.service.flags_file.read_text()
        with fault_lab.service.operator_client() as debug:
            unknown = debug.put("/admin/faults/not_a_fault", params={"intensity": "1x"})
            assert unknown.status_code == 404
            assert "unknown fault" in unknown.json()["message"]
            bad = debug.put("/admin/faults/gc_churn", params={"intensity": "9000x"})
            assert bad.status_code == 400
            assert "intensity must be one of" in bad.json()["message"]
        base = fault_lab.service.debug_url
        anonymous = httpx.put(f"{base}/admin/faults/gc_churn", timeout=10)
        assert anonymous.status_code == 401
        wrong = httpx.put(
            f"{base}/admin/faults/gc_churn", headers={"Authorization": "Bearer nope"}, timeout=10
        )
        assert wrong.status_code == 401
        with fault_lab.service.debug_client() as observer:  # a trainee's token switches nothing
            assert observer.put("/admin/faults/gc_churn").status_code == 403
            assert observer.get("/admin/faults").status_code == 403
        assert active(fault_lab) == {"cpu_hotloop": "1x"}
        assert fault_lab.service.flags_file.read_text() == flags_before
    finally:
        fault_lab.switch("cpu_hotloop", None)


def test_flags_file_switches_faults_and_a_bad_edit_is_rejected(fault_lab: FaultLab) -> None:
    flags = fault_lab.service.flags_file
    url = fault_lab.service.metrics_url
    metric = 'leaky_app_fault_active{fault="task_leak"}'
    original = json.loads(flags.read_text())
    try:
        flags.write_text(json.dumps({**original, "faults": {"task_leak": "1x"}}))
        eventually_sync(lambda: scrape(url)[metric] == 1.0, "fault on from the flags file")
        rejected = 'leaky_app_config_reloads_total{result="rejected"}'
        before = scrape(url).get(rejected, 0.0)
        flags.write_text(json.dumps({**original, "faults": {"task_leak": "1x", "typo": "1x"}}))
        eventually_sync(lambda: scrape(url).get(rejected, 0.0) > before, "bad edit rejected")
        assert active(fault_lab) == {"task_leak": "1x"}

        flags.write_text(json.dumps({**original, "faults": {"task_leak": "1x"}, "drill": True}))
        eventually_sync(lambda: metric not in scrape(url), "drill mode hides fault state")
        assert active(fault_lab) == {}  # what `labctl fault list` is told
        assert active(fault_lab, reveal=True) == {"task_leak": "1x"}  # the grading asks
    finally:
        fault_lab.all_off()
        flags.write_text(json.dumps(original))
