"""What to profile: a running process (``--pid``) or a command to start (``-- CMD ...``)."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from labctl.errors import LabctlError


class ProbeError(LabctlError):
    """A profiler could not run; the message says why and how to fix it."""


# Exit codes shared by every profiling command.
EXIT_NO_PROCESS = 3
EXIT_NOT_PYTHON = 4
EXIT_PERMISSION = 5
EXIT_TOOL_MISSING = 6


@dataclass(frozen=True)
class Target:
    pid: int | None = None
    command: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.pid is None) == (not self.command):
            raise ProbeError("give either --pid PID or a command after --", exit_code=2)

    def describe(self) -> str:
        return f"pid {self.pid}" if self.pid is not None else " ".join(self.command)

    def check(self) -> None:
        """Fail early, with a sentence, when the PID cannot be profiled."""
        if self.pid is None:
            return
        try:
            proc = psutil.Process(self.pid)
            exe = proc.exe()
            cmdline = " ".join(proc.cmdline())
        except psutil.NoSuchProcess:
            raise ProbeError(f"no process with pid {self.pid}", EXIT_NO_PROCESS) from None
        except psutil.AccessDenied:
            raise ProbeError(
                f"permission denied reading pid {self.pid}; " + PTRACE_HINT, EXIT_PERMISSION
            ) from None
        if "python" not in Path(exe).name.lower() and "python" not in cmdline.lower():
            raise ProbeError(
                f"pid {self.pid} ({Path(exe).name}) is not a Python process", EXIT_NOT_PYTHON
            )

    def python_tree(self) -> dict[int, str]:
        """A master and the Python processes under it (workers of a gunicorn master, a
        process pool), by PID with their command lines, the master first; {} for a command
        or a process with no Python children."""
        if self.pid is None:
            return {}
        try:
            master = psutil.Process(self.pid)
            tree = {self.pid: " ".join(master.cmdline()) or self.describe()}
            children = master.children(recursive=True)
        except psutil.Error:
            return {}
        for child in children:
            try:
                if "python" in Path(child.exe()).name.lower():
                    tree[child.pid] = " ".join(child.cmdline())
            except psutil.Error:
                continue
        return tree if len(tree) > 1 else {}


PTRACE_HINT = (
    "attaching needs ptrace: run as root, or `sysctl kernel.yama.ptrace_scope=0`; "
    "in a container add `--cap-add SYS_PTRACE`"
)


def find_tool(name: str, install: str) -> str:
    """The tool beside this interpreter (a venv) or on PATH, else a ProbeError saying how."""
    here = Path(sys.executable).parent
    path = shutil.which(name, path=f"{here}{os.pathsep}{os.environ.get('PATH', '')}")
    if path is None:
        raise ProbeError(f"{name} is not installed; {install}", EXIT_TOOL_MISSING)
    return path
