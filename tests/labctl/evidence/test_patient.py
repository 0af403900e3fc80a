"""The patient's client against the shared live service: typed records from its debug port,
and a sentence with an exit code when it cannot answer."""

from pathlib import Path

import pytest

from labctl.contract import DEBUG_WINDOW_MAX_SECONDS
from labctl.evidence.patient import Patient, PatientError, tracemalloc_growth, watch
from labctl.stack.ports import free_port
from labctl.stack.supervisor import Stack
from tests.integration.load import load
from tests.live import FaultLab, LiveService


def test_a_stack_without_a_service_says_how_to_start_one(tmp_path: Path) -> None:
    with pytest.raises(PatientError, match="the service is not running") as missing:
        Patient.of(Stack(tmp_path).status())
    assert missing.value.exit_code == 3


def test_a_debug_port_that_does_not_answer_is_exit_3() -> None:
    with (
        Patient(f"http://127.0.0.1:{free_port()}", "token") as patient,
        pytest.raises(PatientError, match="does not answer") as silent,
    ):
        patient.faults()
    assert silent.value.exit_code == 3


def test_tracemalloc_rows_are_named_from_the_source(tmp_path: Path) -> None:
    source = tmp_path / "cache.py"
    source.write_text("class Cache:\n    def put(self, k, v):\n        self.d[k] = v\n")
    rows = tracemalloc_growth([
        {"site": {"file": str(source), "line": 3}, "size_diff_bytes": 4096, "count_diff": 2},
        {"site": {"file": str(source), "line": 3}, "size_diff_bytes": -10, "count_diff": -1},
        {"site": None, "size_diff_bytes": 100, "count_diff": 1},
    ])  # fmt: skip
    assert [(r.location.function, r.bytes) for r in rows] == [("Cache.put", 4096)]


@pytest.mark.integration
def test_the_live_service_answers_in_records(live_service: LiveService) -> None:
    with Patient.from_run_dir(live_service.run_dir) as patient:
        assert patient.pid == live_service.record.pid
        assert {f.id for f in patient.faults().catalogue} >= {"cpu_hotloop", "task_leak"}
        assert patient.max_window_seconds() == DEBUG_WINDOW_MAX_SECONDS
        assert patient.tasks().count > 0
        assert patient.gc().threshold[0] > 0
        with pytest.raises(PatientError, match="400") as refused:
            patient.heap_window(DEBUG_WINDOW_MAX_SECONDS + 1)
        assert refused.value.exit_code == 2


@pytest.mark.integration
def test_vitals_count_the_requests_between_two_scrapes(fault_lab: FaultLab) -> None:
    with (
        Patient.from_run_dir(fault_lab.service.run_dir) as patient,
        load(fault_lab.service.url, fault_lab.codes),
    ):
        (vitals,) = list(watch(patient, interval=1.0, frames=1))
    assert vitals.requests_per_second > 0 and vitals.rss_bytes is not None
