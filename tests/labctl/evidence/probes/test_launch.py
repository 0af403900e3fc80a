"""A command started for a capture keeps its window and leaves nothing running."""

import sys
from pathlib import Path

import pytest

from labctl.evidence.probes.launch import run_for_window
from tests.labctl.targets import NEVERENDING, still_running, written_pids

pytestmark = pytest.mark.integration


def test_a_program_that_never_exits_is_stopped_with_everything_it_started(
    tmp_path: Path,
) -> None:
    pids_file = tmp_path / "pids"
    run = run_for_window([sys.executable, NEVERENDING, str(pids_file)], seconds=2)
    pids = written_pids(pids_file)
    assert run.stopped
    assert still_running(pids) == [], pids
    # The script and its child die of the SIGINT; the detached one is found and killed.
    assert run.stopped_processes >= 2
    assert "KeyboardInterrupt" in run.stderr
    note = run.note(2)
    assert note is not None and "still running when the 2 s window closed" in note


def test_a_program_that_exits_first_keeps_its_exit_code_and_output() -> None:
    run = run_for_window([sys.executable, "-c", "print('done'); raise SystemExit(3)"], 30)
    assert (run.stopped, run.returncode, run.stdout, run.stopped_processes) == (
        False, 3, "done\n", 0,
    )  # fmt: skip
    assert run.note(30) is None


def test_children_left_behind_by_a_program_that_exited_are_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "child"
    orphaning = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
    )
    run = run_for_window([sys.executable, "-c", orphaning], 30)
    child = int(pid_file.read_text())
    assert not run.stopped and run.returncode == 0
    assert still_running([child]) == []
    assert run.stopped_processes == 1
    note = run.note(30)
    assert note is not None and "left 1 process(es) running" in note
