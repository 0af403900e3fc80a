"""Child processes by PID and start time: a recycled PID is never taken for ours."""

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from labctl.stack.ports import free_port
from labctl.stack.processes import (
    ProcessError,
    ProcessRecord,
    kill_hard,
    python_version,
    ready_or_stopped,
    spawn,
    stop,
    tail,
)
from tests.polling import eventually_sync


def sleeper(tmp_path: Path) -> ProcessRecord:
    code = "import time; print('up', flush=True); time.sleep(60)"
    return spawn("sleeper", [sys.executable, "-c", code], tmp_path / "logs" / "sleeper.log")


def test_a_child_is_alive_until_stopped_and_its_output_is_logged(tmp_path: Path) -> None:
    record = sleeper(tmp_path)
    try:
        assert record.alive()
        assert ProcessRecord.from_json(record.to_json()) == record
        eventually_sync(lambda: tail(Path(record.log)) == "up", "its first line logged")
    finally:
        assert stop(record, grace=5)
    assert not record.alive() and not stop(record)  # stopping twice is harmless


def test_a_record_with_another_start_time_is_not_ours_and_is_never_signalled(
    tmp_path: Path,
) -> None:
    record = sleeper(tmp_path)
    try:
        stranger = replace(record, create_time=record.create_time - 3600)
        assert not stranger.alive()
        assert not stop(stranger)  # the PID belongs to a process we did not start
        assert psutil.pid_exists(record.pid) and record.alive()
    finally:
        kill_hard(record)
    assert not record.alive()


def test_tail_of_a_missing_log_says_so(tmp_path: Path) -> None:
    assert tail(tmp_path / "none.log") == "(no log)"


def test_python_version_reads_the_interpreter_a_process_runs() -> None:
    assert python_version(os.getpid()) == sys.version_info[:2]
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert python_version(sleeper.pid) is None
    finally:
        sleeper.kill()
        sleeper.wait()
    assert python_version(999_999_999) is None


def test_a_child_that_never_gets_ready_is_stopped_not_left_running(tmp_path: Path) -> None:
    child = spawn("sleeper", ["sleep", "60"], tmp_path / "sleeper.log")
    with pytest.raises(ProcessError, match="not ready at"):
        ready_or_stopped(child, f"http://127.0.0.1:{free_port()}/", timeout=0.5)
    assert not child.alive()
