"""A command a probe starts: it runs in a session of its own for at most the capture window,
then it and every process it started are stopped, so nothing a capture starts outlives it.

The profiler wraps the program (``py-spy record -- CMD``, ``memray run``, ``scalene run``);
at the end of the window the whole process group gets SIGINT first, which each of these
profilers turns into "stop and write the capture", then SIGTERM, then SIGKILL. Children that
left the group (``setsid``) are remembered while their parent lives, and stopped too.

Usage::

    run = run_for_window(["scalene", "run", "-o", "out.json", "job.py"], seconds=10)
    run.stopped      # True when the window closed before the program exited
    run.stderr       # what the profiler said
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass

import psutil

# How long each signal gets before the next, stronger one: a profiler writes its capture on
# SIGINT, which takes a few seconds for a long one.
INTERRUPT_GRACE_SECONDS = 20.0
TERMINATE_GRACE_SECONDS = 5.0
# How often the processes the command started are looked up while it runs.
WATCH_SECONDS = 0.5


@dataclass(frozen=True)
class LaunchedRun:
    """How a command started for a capture ended."""

    returncode: int
    stdout: str
    stderr: str
    stopped: bool  # the window closed first, and the command was stopped
    elapsed: float  # seconds from start to exit: the window, or less if it exited sooner
    stopped_processes: int  # processes labctl stopped when it ended, the command's own included

    def note(self, seconds: float) -> str | None:
        """A sentence for the report when labctl had to stop what it started."""
        if self.stopped:
            return (
                f"the program was still running when the {seconds:g} s window closed; labctl "
                f"stopped it and what it had started ({self.stopped_processes} process(es))"
            )
        if self.stopped_processes:
            return (
                f"the program exited but left {self.stopped_processes} process(es) running; "
                "labctl stopped them"
            )
        return None


def run_for_window(cmd: list[str], seconds: float) -> LaunchedRun:
    """Run ``cmd`` until it exits or ``seconds`` pass, then stop it and everything it started."""
    # Output goes to files, not pipes: a child that outlives the command keeps a pipe open,
    # and reading it to its end would wait for that child.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, start_new_session=True)
        group = proc.pid  # start_new_session: the command leads a process group of its own
        started: dict[int, psutil.Process] = {}
        started_at = time.monotonic()
        deadline = started_at + seconds
        stopped = False
        try:
            while proc.poll() is None:
                _remember_children(proc.pid, started)
                left = deadline - time.monotonic()
                if left <= 0:
                    stopped = True
                    _stop(proc, group)
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=min(WATCH_SECONDS, left))
        finally:
            if proc.poll() is None:  # interrupted (KeyboardInterrupt in labctl): leave nothing
                _signal_group(group, signal.SIGKILL)
                proc.wait()
            swept = _sweep(group, started)
        out.seek(0)
        err.seek(0)
        return LaunchedRun(
            returncode=proc.returncode,
            stdout=out.read(),
            stderr=err.read(),
            stopped=stopped,
            elapsed=min(time.monotonic() - started_at, seconds),
            stopped_processes=swept + (1 if stopped else 0),
        )


def _remember_children(pid: int, started: dict[int, psutil.Process]) -> None:
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(pid).children(recursive=True):
            started.setdefault(child.pid, child)


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def _stop(proc: subprocess.Popen[str], group: int) -> None:
    """SIGINT (write the capture), then SIGTERM, then SIGKILL, to the whole group."""
    for signum, grace in (
        (signal.SIGINT, INTERRUPT_GRACE_SECONDS),
        (signal.SIGTERM, TERMINATE_GRACE_SECONDS),
    ):
        _signal_group(group, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
            return
    _signal_group(group, signal.SIGKILL)
    proc.wait()


def _sweep(group: int, started: dict[int, psutil.Process]) -> int:
    """Kill what is left: the group's members, and the children that left the group. A
    process is matched by its creation time too, so a reused PID is never killed."""
    left: list[psutil.Process] = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(proc.pid) == group and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
    members = {p.pid for p in left}
    for pid, child in started.items():
        with contextlib.suppress(psutil.Error):
            if pid not in members and child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                left.append(child)
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=TERMINATE_GRACE_SECONDS)
    return len(left)
