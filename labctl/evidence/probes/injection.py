"""``--inject``: run labctl's evidence window inside another Python process.

Tasks, GC pauses and loop stalls are visible only from inside a process. The lab's service
shows them on its debug surface; any other asyncio process shows them only to code it runs.
:func:`inject_window` has the target run :mod:`labctl.evidence.probes.remote_window` for
``seconds`` and reads back what it measured, as the debug surface's records.

How the code gets in, on Python 3.11 to 3.13: lldb attaches for well under a second, maps one
page in the target, writes one line into it (``exec(open(LAUNCHER).read(), ...)``) and
queues that line with ``Py_AddPendingCall``, then detaches. The interpreter itself runs the
line in the main thread between two bytecodes, where running Python code is safe, holding
the GIL: the debugger never runs Python code in a stopped thread (which is what can crash a
target). On 3.14 and later, with a labctl Python as new, ``sys.remote_exec`` does the same.
The window ends by itself and removes what it added (see the script's docstring); if the
main thread runs no Python code within ``START_SECONDS``, labctl gives up and the queued line,
should it ever run, only frees its page.

Usage::

    window = inject_window(pid, seconds=5, out_dir=Path("run/profiles/x"), echo=print)
    window.tasks[1].count - window.tasks[0].count      # tasks gained in the window
    window.gc[1].pauses[2].count                        # full collections in it
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psutil

from labctl.evidence.probes import remote_window
from labctl.evidence.probes.target import (
    EXIT_PERMISSION,
    PTRACE_HINT,
    ProbeError,
    Target,
    find_tool,
)
from labctl.records.debug_views import GcReport, InjectedWindow, LoopReport, TaskCensus
from labctl.stack.processes import python_version

Echo = Callable[[str], None]
START_SECONDS = 5.0  # for the target's main thread to run the queued line
PAGE = 4096
EXIT_NOT_INJECTED = 7
WITHOUT_INJECTION = (
    "without --inject, py-spy, memray and /proc still give CPU, memory and descriptor evidence"
)
T = TypeVar("T")
_PAGE = re.compile(r"\$labctl_page = (0x[0-9a-f]+)")
_RESULT = re.compile(r"^\(int\) \$\d+ = (-?\d+)$", re.MULTILINE)


def _lldb_commands(line: str) -> list[str]:
    """Map a page, write ``line`` into it with the page's address for ``%lu``, queue it.
    Each call is one the target makes safely from any state: mmap is a system call, and
    snprintf with ``%lu`` allocates nothing; Py_AddPendingCall needs no GIL (its docs)."""
    quoted = line.replace("\\", "\\\\").replace('"', '\\"')
    return [
        f"expr -- char *$labctl_page = (char *)mmap(0, {PAGE}, 3, 0x22, -1, 0)",
        f'expr -- (void)snprintf($labctl_page, {PAGE}, "{quoted}", (unsigned long)$labctl_page)',
        "p $labctl_page",
        "expr -- void *$labctl_run = (void *)&PyRun_SimpleString",
        "expr -- ((int (*)(void *, void *))&Py_AddPendingCall)($labctl_run, (void *)$labctl_page)",
    ]


def _queue_with_lldb(pid: int, line: str, echo: Echo) -> tuple[float, int]:
    """Queue ``line``; the seconds lldb took, and the address of the page it wrote."""
    lldb = find_tool("lldb", "install it with: apt-get install lldb; " + WITHOUT_INJECTION)
    argv = [lldb, "--batch", "--no-lldbinit", "-p", str(pid)]
    for command in _lldb_commands(line):
        argv += ["-o", command]
    echo("+ " + shlex.join(argv))
    began = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        raise ProbeError(f"lldb did not finish attaching to pid {pid} in 60 s; "
                         + WITHOUT_INJECTION, EXIT_NOT_INJECTED) from None  # fmt: skip
    output = done.stdout + done.stderr
    if "attach failed" in output or "Operation not permitted" in output:
        raise ProbeError(f"lldb could not attach to pid {pid}: {PTRACE_HINT}; "
                         + WITHOUT_INJECTION, EXIT_PERMISSION)  # fmt: skip
    if "undeclared identifier" in output:
        raise ProbeError(
            f"pid {pid}'s Python exports no Py_AddPendingCall or PyRun_SimpleString symbol "
            "(a stripped or static build); " + WITHOUT_INJECTION,
            EXIT_NOT_INJECTED,
        )
    results = _RESULT.findall(output)
    if not results or results[-1] != "0":
        last = output.strip().splitlines()[-1:] or ["no output"]
        raise ProbeError(f"lldb could not queue the window in pid {pid} ({last[0]}); "
                         + WITHOUT_INJECTION, EXIT_NOT_INJECTED)  # fmt: skip
    page = _PAGE.search(output)
    return time.monotonic() - began, int(page[1], 16) if page else 0


def _queue_with_remote_exec(pid: int, launcher: Path, echo: Echo) -> float:
    echo(f"+ sys.remote_exec({pid}, {str(launcher)!r})")
    began = time.monotonic()
    try:
        sys.remote_exec(pid, str(launcher))  # type: ignore[attr-defined]  # 3.14 and later
    except (OSError, RuntimeError, PermissionError) as exc:
        raise ProbeError(f"sys.remote_exec into pid {pid} failed: {exc}; " + WITHOUT_INJECTION,
                         EXIT_NOT_INJECTED) from None  # fmt: skip
    return time.monotonic() - began


@dataclass(frozen=True)
class OpenWindow:
    """A window queued in a target: :meth:`collect` waits for it to end and reads it."""

    pid: int
    result: Path
    stale_after: float
    seconds: float
    attach_seconds: float
    page: int
    injected_with: str
    artefacts: dict[str, str]

    def collect(self) -> InjectedWindow:
        body = _await_result(self.pid, self.result, self.stale_after, self.seconds)
        return InjectedWindow(
            pid=self.pid,
            python=str(body["python"]),
            seconds=float(body["seconds"]),
            tasks=_pair(TaskCensus.from_json, body["tasks"]),
            gc=_pair(GcReport.from_json, body["gc"]),
            loop=_pair(LoopReport.from_json, body["loop"]) if body.get("loop") else None,
            census_seconds=tuple(float(s) for s in body["census_seconds"]),
            attach_seconds=self.attach_seconds,
            injected_with=self.injected_with,
            page=self.page,
            leftovers={
                "threads": int(body["threads_left"]),
                "gc_callbacks_at_start": int(body["gc_callbacks_at_start"]),
            },
            notes=list(body.get("notes", [])),
            artefacts=self.artefacts,
        )


def open_window(
    pid: int,
    seconds: float,
    out_dir: Path,
    echo: Echo = print,
    start_within: float = START_SECONDS,
) -> OpenWindow:
    """Queue the evidence window in ``pid``; the debugger has detached when this returns.
    The window must start within ``start_within`` seconds, or it never will.
    Raises :class:`ProbeError` saying why when the target cannot be injected, and what still
    works without it."""
    Target(pid=pid).check()
    version = python_version(pid)
    out_dir.mkdir(parents=True, exist_ok=True)
    script, launcher, result = (out_dir / n for n in ("window.py", "launch.py", "window.json"))
    script.write_text(Path(remote_window.__file__).read_text())
    stale_after = time.time() + start_within
    params = {"out": str(result), "seconds": seconds, "stale_after": stale_after,
              "size": PAGE}  # fmt: skip
    launcher.write_text(
        f"exec(compile(open({str(script)!r}).read(), {str(script)!r}, 'exec'), "
        f"{{'__name__': 'labctl_window', '__file__': {str(script)!r}, "
        f"'_labctl': {{**{params!r}, 'buffer': globals().get('_page', 0)}}}})\n"
    )
    for path in (script, launcher):
        path.chmod(0o600)
    for stale in (result, Path(f"{result}.started")):  # an earlier window's, in this folder
        stale.unlink(missing_ok=True)
    remote = version is not None and version >= (3, 14) and sys.version_info >= (3, 14)
    how = "sys.remote_exec" if remote else "lldb and Py_AddPendingCall"
    echo(f"pid {pid}'s main thread runs {launcher} ({script}, {seconds:g} s window) via {how}")
    if remote:
        attach, page = _queue_with_remote_exec(pid, launcher, echo), 0
    else:
        line = f"exec(open({str(launcher)!r}).read(), {{'_page': %lu}})"
        attach, page = _queue_with_lldb(pid, line, echo)
    artefacts = {"window": str(result), "script": str(script), "launcher": str(launcher)}
    return OpenWindow(pid, result, stale_after, seconds, attach, page, how, artefacts)


def inject_window(
    pid: int,
    seconds: float,
    out_dir: Path,
    echo: Echo = print,
    start_within: float = START_SECONDS,
) -> InjectedWindow:
    """Run the evidence window in ``pid`` for ``seconds``; return what it measured."""
    return open_window(pid, seconds, out_dir, echo, start_within).collect()


def _pair(parse: Callable[[dict[str, Any]], T], bodies: list[dict[str, Any]]) -> tuple[T, T]:
    """A view at the window's start and at its end."""
    return parse(bodies[0]), parse(bodies[-1])


def _await_result(pid: int, result: Path, stale_after: float, seconds: float) -> dict[str, Any]:
    """Poll for the window's result: it must have started by ``stale_after`` (the script
    checks the same time, so a late start never opens a window), then last ``seconds``."""
    started = Path(f"{result}.started")
    give_up_at, opened = stale_after + 0.5, False
    while time.time() < give_up_at:
        if not opened and started.exists():
            give_up_at, opened = time.time() + seconds + 5.0, True
        if result.exists():
            body: dict[str, Any] = json.loads(result.read_text())
            return body
        if not psutil.pid_exists(pid):
            raise ProbeError(f"pid {pid} exited during the window", EXIT_NOT_INJECTED)
        time.sleep(0.1)
    raise ProbeError(
        f"pid {pid}'s main thread ran no Python code in time (blocked in a "
        "C call, or an idle loop with nothing scheduled), so the window never opened; the "
        "queued line, if it ever runs, only frees its page. " + WITHOUT_INJECTION,
        EXIT_NOT_INJECTED,
    )
