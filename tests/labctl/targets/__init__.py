"""Tiny target scripts named for the behaviour they produce; profilers are pointed at them."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

TARGETS = Path(__file__).parent
NEVERENDING = str(TARGETS / "neverending.py")


def written_pids(path: Path, timeout: float = 30.0) -> list[int]:
    """The PIDs ``neverending.py`` wrote (itself, its child, its detached grandchild)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return [int(pid) for pid in path.read_text().split()]
        time.sleep(0.1)
    raise AssertionError(f"{path} was not written in {timeout:g} s")


def still_running(pids: list[int]) -> list[int]:
    """Those of ``pids`` still alive (a zombie waiting for its reaper counts as stopped)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def capture_neverending(
    run: Callable[[list[str]], dict[str, Any]], command: list[str], tmp_path: Path, seconds: int
) -> dict[str, Any]:
    """``labctl <command> --seconds N -- python neverending.py``, through ``run`` (which
    returns the parsed ``--json``): the capture's report, once it is checked that the window
    was kept, that nothing the capture started is left running, and that the report says so."""
    pids = tmp_path / "pids"
    body = run([*command, "--seconds", str(seconds), "--run-dir", str(tmp_path), "--json",
                "--", sys.executable, NEVERENDING, str(pids)])  # fmt: skip
    assert still_running(written_pids(pids)) == []
    said = f"still running when the {seconds} s window closed"
    assert any(said in note for note in body["notes"]), body["notes"]
    return body


@contextlib.contextmanager
def process_group(command: list[str], **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` in a session of its own (a master and the workers it forks), stopped as a
    group by its PID when the block ends, whatever happened in it."""
    proc = subprocess.Popen(command, start_new_session=True, **popen)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def busy_pool(tmp_path: Path, hoard: bool = False) -> Iterator[tuple[int, int]]:
    """``crunchpool.py`` running (one worker busy for a minute, keeping memory with
    ``hoard``): the master's PID and the busy worker's, once its task has started."""
    mark = tmp_path / "worker"
    command = [sys.executable, str(TARGETS / "crunchpool.py"), "60", str(mark)]
    with process_group([*command, *(["hoard"] if hoard else [])]) as pool:
        [worker] = written_pids(mark)
        yield pool.pid, worker


@contextlib.contextmanager
def serving(script: str, tmp_path: Path, seconds: int = 60) -> Iterator[int]:
    """A target script that takes (seconds, ready file) running, by its PID once it serves;
    stopped by that PID when the block ends."""
    ready = tmp_path / f"{script}.ready"
    with process_group([sys.executable, str(TARGETS / script), str(seconds), str(ready)]) as proc:
        [pid] = written_pids(ready)
        assert pid == proc.pid
        yield pid
