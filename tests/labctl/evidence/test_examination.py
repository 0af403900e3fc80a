"""``diagnose`` refuses up front what it could not finish, before it measures anything (its
findings on live faults are tests/labctl/commands/test_diagnose.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

from labctl.contract import DEBUG_WINDOW_MAX_SECONDS
from labctl.evidence.examination import diagnose
from labctl.evidence.patient import Patient
from labctl.evidence.probes.target import EXIT_NO_PROCESS, EXIT_NOT_PYTHON, ProbeError
from tests.labctl.targets import TARGETS
from tests.live import LiveService


def test_no_process_and_not_python_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProbeError) as gone:
        diagnose(999_999_999, 2, tmp_path)
    assert gone.value.exit_code == EXIT_NO_PROCESS
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(ProbeError, match="not a Python process") as foreign:
            diagnose(sleeper.pid, 2, tmp_path)
        assert foreign.value.exit_code == EXIT_NOT_PYTHON
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.integration
def test_a_window_longer_than_the_services_heap_window_is_refused_at_once(
    live_service: LiveService, tmp_path: Path
) -> None:
    with Patient.from_run_dir(live_service.run_dir) as patient:
        assert patient.pid is not None
        with pytest.raises(ProbeError, match="debug_max_seconds") as refused:
            diagnose(patient.pid, DEBUG_WINDOW_MAX_SECONDS + 60, tmp_path, patient)
    assert refused.value.exit_code == 2
    assert not any(tmp_path.iterdir())  # nothing was captured


@pytest.mark.integration
def test_a_python_target_without_the_debug_surface_is_examined_from_outside(
    tmp_path: Path,
) -> None:
    script = TARGETS / "busyloop.py"
    proc = subprocess.Popen([sys.executable, str(script), "30"])
    try:
        result = diagnose(proc.pid, 2, tmp_path)
    finally:
        proc.kill()
        proc.wait()
    assert result.findings[0].kind == "cpu"
    assert result.findings[0].location.function == "spin_checksum"
    assert any("no debug surface" in note for note in result.notes)
