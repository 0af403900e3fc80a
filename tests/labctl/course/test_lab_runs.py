"""Labs against a whole live stack: ``lab verify`` measures a lab's signals crossing their
thresholds with its fault on (in Prometheus, against a baseline from the same run), and a
trainee's round trip (start, a wrong answer, the right one, stop) leaves the service as it
was.

Every lab's signals are checked live by its notebook (``Walkthrough.page`` waits for each one
to cross, with the same ``Signal.met`` against a baseline of the same run, and
tests/notebooks enforces one notebook per lab); here ``verify`` runs for one lab, so the
suite does not measure each lab twice."""

import json
from pathlib import Path

import pytest

from labctl.cli import main
from labctl.contract import LOAD, RunLayout
from labctl.course.catalogue import load_lab
from labctl.course.lab_runs import current, set_scene, start_lab
from labctl.evidence.patient import Patient
from labctl.evidence.session import Session
from labctl.stack.mail_sink import Mailbox
from labctl.stack.processes import ProcessRecord
from labctl.stack.supervisor import Stack
from labctl.stack.traffic import stop_load
from tests.labctl.cli_surface import check_json
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


def running(run_dir: Path) -> ProcessRecord | None:
    """The load, as a later command would find it."""
    return Stack(run_dir).status().running.get(LOAD)


def test_verify_shows_a_labs_signals_with_its_fault(
    lab_stack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = load_lab("06")  # the quickest to cross; every lab crosses in its notebook
    code = main(["lab", "verify", "06", "--timeout", "120", "--json", "--run-dir", str(lab_stack)])
    captured = capsys.readouterr()
    readings = json.loads(captured.out)
    check_json("lab verify", readings)
    assert [r["signal"] for r in readings] == [s.name for s in lab.signals]
    missed = [r for r in readings if not r["met"]]
    assert missed == [] and code == 0, (missed, captured.err)
    # verify puts everything back: no fault, no load, mail healed.
    with Patient.from_run_dir(lab_stack) as patient:
        assert patient.faults().active == {}
    assert running(lab_stack) is None
    assert Mailbox(RunLayout(lab_stack).smtp).fail_rate() == 0.0


def test_a_trainee_round_trip_through_a_lab(
    lab_stack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = ["--run-dir", str(lab_stack)]
    with Patient.from_run_dir(lab_stack) as patient:
        tasks_before = patient.tasks().count
        try:
            assert main(["lab", "start", "04", *run_dir]) == 0
            err = capsys.readouterr().err
            assert "task_leak" not in err and "labs/04-tasks-pile-up/README.md" in err
            assert current(RunLayout(lab_stack)) is not None and running(lab_stack) is not None
            # The scene is real: tasks pile up under the lab's load.
            eventually_sync(lambda: patient.tasks().count > tasks_before + 200,
                            "tasks pile up", deadline_s=60)  # fmt: skip

            assert main(["lab", "check", "04", "--answer", "send", *run_dir]) == 1
            assert "name its class too" in capsys.readouterr().err
            assert main(["lab", "check", "04", "--answer", "AckTasks.send",
                         "--json", *run_dir]) == 0  # fmt: skip
            checked = json.loads(capsys.readouterr().out)
            check_json("lab check", checked)
            assert checked["correct"] is True
        finally:
            assert main(["lab", "stop", *run_dir]) == 0
        assert "lab 04 stopped" in capsys.readouterr().err
        assert patient.faults().active == {}
        eventually_sync(lambda: patient.tasks().count < tasks_before + 50,
                        "the leaked tasks are released")  # fmt: skip
    assert current(RunLayout(lab_stack)) is None and running(lab_stack) is None


def test_a_lab_started_on_the_scene_it_set_keeps_that_load(lab_stack: Path) -> None:
    """A walkthrough reads its baseline under the scene's load; the page must not restart it."""
    lab = load_lab("06")
    with Session.open(lab_stack) as session:
        try:
            scene = set_scene(session, lab, lambda _line: None)
            first = running(lab_stack)
            assert first is not None and scene.load_pid == first.pid
            start_lab(session, lab, scene=scene)
            kept = running(lab_stack)
            assert kept is not None and kept.pid == first.pid
            assert set(session.patient.faults().active) == {lab.fault}
            start_lab(session, lab)  # no scene given: set again
            again = running(lab_stack)
            assert again is not None and again.pid != first.pid
            stop_load(session.status)
            start_lab(session, lab, scene=scene)  # its load has gone: set again
            assert running(lab_stack) is not None
        finally:
            assert main(["lab", "stop", "--run-dir", str(lab_stack)]) == 0
        assert session.patient.faults().active == {}
    assert running(lab_stack) is None


def test_verify_refuses_while_a_lab_runs_and_lab_commands_need_a_stack(
    lab_stack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (lab_stack / "lab.json").write_text('{"number": "02", "title": "t", "started_at": 0}')
    try:
        assert main(["lab", "verify", "01", "--run-dir", str(lab_stack)]) == 1
        assert "a lab is running" in capsys.readouterr().err
    finally:
        (lab_stack / "lab.json").unlink()
    assert main(["lab", "start", "01", "--run-dir", str(tmp_path)]) == 3
    assert "the service is not running" in capsys.readouterr().err
    assert main(["lab", "check", "01", "--answer", "x", "--run-dir", str(tmp_path)]) == 3
