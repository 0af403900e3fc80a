"""Start, watch and stop child processes by PID.

A :class:`ProcessRecord` remembers the PID *and* the process start time, so a recycled PID
is never mistaken for ours and never signalled.

Usage::

    proc = spawn("service", [sys.executable, "-m", "leaky_app"], log_path=Path("run/app.log"))
    wait_http_ok("http://127.0.0.1:8000/readyz", proc, timeout=20)
    stop(proc)
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

# Popen objects of the children this process started. Keeping them alive is what lets us
# reap them (no zombies) and stops Python warning that a running child was garbage-collected;
# a record loaded from disk by a later `labctl` has no entry and is signalled by PID alone.
_children: dict[int, subprocess.Popen[bytes]] = {}


class ProcessError(RuntimeError):
    """A child failed to start or to become ready; the message carries its last log lines."""


@dataclass
class ProcessRecord:
    name: str
    pid: int
    create_time: float
    cmd: list[str]
    log: str
    urls: dict[str, str] = field(default_factory=dict)
    # Started by someone else (docker compose, another terminal) and attached with
    # `labctl attach`: commands use it, `labctl down` leaves it running.
    attached: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcessRecord:
        return cls(**data)

    def alive(self) -> bool:
        try:
            proc = psutil.Process(self.pid)
            # Start times agree to within clock-tick rounding; a recycled PID starts later.
            return (
                abs(proc.create_time() - self.create_time) < 1.0
                and proc.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.Error:
            return False


def python_version(pid: int) -> tuple[int, int] | None:
    """The target interpreter's version, from the libpython it mapped or its executable."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
        exe = Path(f"/proc/{pid}/exe").resolve().name
    except OSError:
        return None
    found = re.search(r"libpython(\d+)\.(\d+)", maps) or re.search(r"python(\d+)\.(\d+)", exe)
    return (int(found[1]), int(found[2])) if found else None


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def spawn(
    name: str,
    cmd: Sequence[str],
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> ProcessRecord:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        popen = subprocess.Popen(
            list(cmd),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,  # Ctrl-C in the terminal does not kill the lab behind it
        )
    _children[popen.pid] = popen
    create_time = psutil.Process(popen.pid).create_time()
    return ProcessRecord(name, popen.pid, create_time, list(cmd), str(log_path))


def wait_http_ok(url: str, proc: ProcessRecord, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers 2xx; fail early, with the log, if the process exits."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not proc.alive():
                raise ProcessError(
                    f"{proc.name} (pid {proc.pid}) exited during start-up; "
                    f"last lines of {proc.log}:\n{tail(Path(proc.log))}"
                )
            try:
                response = client.get(url)
                if response.is_success:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
    raise ProcessError(
        f"{proc.name} (pid {proc.pid}) not ready at {url} after {timeout:.0f} s ({last}); "
        f"last lines of {proc.log}:\n{tail(Path(proc.log))}"
    )


def ready_or_stopped(proc: ProcessRecord, url: str, timeout: float = 30.0) -> ProcessRecord:
    """:func:`wait_http_ok`, stopping the process when it never gets ready: a start that
    fails leaves nothing running."""
    try:
        wait_http_ok(url, proc, timeout=timeout)
    except Exception:
        stop(proc)
        raise
    return proc


def _reap(pid: int, wait: float = 0.0) -> None:
    # Our own children must be waited for, or they linger as zombies until we exit. ``wait``:
    # it is known to be ending (psutil may see it gone a moment before waitpid can reap it).
    popen = _children.get(pid)
    if popen is not None:
        if wait:
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=wait)
        else:
            popen.poll()
        if popen.returncode is not None:
            del _children[pid]
        return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop(proc: ProcessRecord, grace: float = 10.0, sig: int = signal.SIGTERM) -> bool:
    """Signal the process (only if it is still the one we started); SIGKILL after ``grace``.

    Returns whether it was running.
    """
    if not proc.alive():
        # A multi-threaded child killed a moment ago shows its leader as a zombie while its
        # other threads still exit, and waitpid cannot reap it yet: wait for it (one of ours
        # that is not alive is ending, so this returns as soon as it has).
        _reap(proc.pid, wait=5.0)
        return False
    os.kill(proc.pid, sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(proc.pid)
        if not proc.alive():
            break
        time.sleep(0.05)
    if proc.alive():
        os.kill(proc.pid, signal.SIGKILL)
        while proc.alive():
            _reap(proc.pid)
            time.sleep(0.05)
    _reap(proc.pid, wait=5.0)  # it may have turned zombie after the last reap: wait for it
    return True


def kill_hard(proc: ProcessRecord) -> None:
    """``kill -9``: no shutdown hooks run. For crash-recovery drills and tests."""
    stop(proc, grace=0.0, sig=signal.SIGKILL)
