"""What a probe may profile, refused with a sentence and the exit code of its kind."""

import os
import subprocess
import sys

import pytest

from labctl.evidence.probes.target import (
    EXIT_NO_PROCESS,
    EXIT_NOT_PYTHON,
    EXIT_TOOL_MISSING,
    ProbeError,
    Target,
    find_tool,
)


def test_a_target_is_a_pid_or_a_command_not_both_nor_neither() -> None:
    with pytest.raises(ProbeError, match="either --pid PID or a command") as neither:
        Target()
    with pytest.raises(ProbeError, match="either --pid PID or a command") as both:
        Target(pid=1, command=("python", "x.py"))
    assert neither.value.exit_code == both.value.exit_code == 2
    assert Target(command=("python", "job.py")).describe() == "python job.py"


def test_a_pid_is_checked_before_any_profiler_runs() -> None:
    with pytest.raises(ProbeError) as gone:
        Target(pid=999_999_999).check()
    assert gone.value.exit_code == EXIT_NO_PROCESS
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(ProbeError, match="not a Python process") as foreign:
            Target(pid=sleeper.pid).check()
        assert foreign.value.exit_code == EXIT_NOT_PYTHON
    finally:
        sleeper.kill()
        sleeper.wait()
    Target(pid=os.getpid()).check()  # this interpreter is Python


def test_a_missing_tool_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with pytest.raises(ProbeError, match="pip install nosuchtool") as missing:
        find_tool("nosuchtool", "pip install nosuchtool")
    assert missing.value.exit_code == EXIT_TOOL_MISSING
