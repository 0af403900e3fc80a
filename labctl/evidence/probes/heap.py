"""Heap growth with memray: what was allocated during a window and is still alive at its end.

memray has no diff command. Its capture of a window records every allocation and free in
it; the allocations never freed before the window closed are the growth. We group them by
the innermost application frame of their allocation stack and rank by bytes.

Usage::

    report = record_heap(Target(pid=1234), seconds=10, out_dir=Path("run/profiles/x"))
    report.growth[0].function     # where the retained memory was allocated

For a PID, ``memray attach`` injects the tracker with a debugger. gdb 13 cannot call
functions in a process on CPUs with AMX state ("Couldn't write extended state status"), so
lldb is tried first when present. When no debugger can attach, ``fallback`` (for the lab's
service: the debug surface's tracemalloc window) gives the same report, and says so.
"""

from __future__ import annotations

import collections
import contextlib
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from labctl.evidence.probes.launch import LaunchedRun, run_for_window
from labctl.evidence.probes.target import (
    EXIT_TOOL_MISSING,
    PTRACE_HINT,
    ProbeError,
    Target,
    find_tool,
)
from labctl.evidence.sources import function_at
from labctl.records.captures import GrowthSite, HeapReport, ProcessGrowth
from labctl.records.location import Location
from labctl.render.pprof.encoding import HeapSites, heap_profile

Echo = Callable[[str], None]

NO_STACK = "<no stack>"


def group_growth(
    records: list[tuple[list[tuple[str, str, int]], int, int]], limit: int = 20
) -> list[GrowthSite]:
    """``records`` are (stack innermost first, bytes, count); one row per innermost
    application frame, or the innermost frame when the stack has no application code.
    Allocations with no stack at all are one last row, ``<no stack>``, whatever their size:
    they name no place in the code (memray attach's own buffers, made as it starts, are
    among them, and in a short window they can outweigh the growth being looked for)."""
    sizes: collections.Counter[Location] = collections.Counter()
    counts: collections.Counter[Location] = collections.Counter()
    unplaced = [0, 0]
    for stack, size, count in records:
        frames = [Location(fn, file, line) for fn, file, line in stack]
        if not frames:
            unplaced[0] += size
            unplaced[1] += count
            continue
        app = [f for f in frames if f.is_application]
        site = app[0] if app else frames[0]
        sizes[site] += size
        counts[site] += count
    rows = [GrowthSite(_qualified(f), size, counts[f]) for f, size in sizes.most_common(limit)]
    if unplaced[1]:
        rows.append(GrowthSite(Location(NO_STACK, "?", 0), unplaced[0], unplaced[1]))
    return rows


def _qualified(frame: Location) -> Location:
    """memray reports ``co_name``; the source gives ``Class.method`` like py-spy does."""
    if not frame.is_application:
        return frame
    name = function_at(frame.file, frame.line)
    if name and name != frame.function and name.rsplit(".", 1)[-1] == frame.function:
        return Location(name, frame.file, frame.line)
    return frame


def read_growth(capture: Path, limit: int = 20) -> list[GrowthSite]:
    """Allocations in a memray capture that were still alive when tracking stopped."""
    try:
        import memray
    except ImportError:  # the profilers extra is optional
        raise ProbeError("memray is not installed; pip install memray", EXIT_TOOL_MISSING) from None
    reader = memray.FileReader(str(capture))
    records = [
        (list(r.stack_trace()), r.size, r.n_allocations)
        for r in reader.get_leaked_allocation_records(merge_threads=True)
    ]
    return group_growth(records, limit)


# memray's deallocation events (they carry no stack); every other event allocates.
DEALLOCATORS = ("FREE", "MUNMAP", "PYMALLOC_FREE")


def read_sites(capture: Path) -> tuple[HeapSites, HeapSites]:
    """Everything the capture allocated, and what of it was still alive when tracking
    stopped, by whole stack (leaf first): the two halves of a pprof heap profile."""
    import memray

    def stack(frames: list[tuple[str, str, int]]) -> tuple[Location, ...]:
        return tuple(_qualified(Location(fn, file, line)) for fn, file, line in frames)

    frees = {int(getattr(memray.AllocatorType, name)) for name in DEALLOCATORS}
    allocated, in_use = HeapSites(), HeapSites()
    stacks: dict[int, tuple[Location, ...]] = {}
    reader = memray.FileReader(str(capture))
    for record in reader.get_allocation_records():
        if int(record.allocator) in frees:
            continue
        if record.stack_id not in stacks:
            stacks[record.stack_id] = stack(list(record.stack_trace()))
        allocated.add(stacks[record.stack_id], record.size, record.n_allocations)
    for record in reader.get_leaked_allocation_records(merge_threads=True):
        in_use.add(stack(list(record.stack_trace())), record.size, record.n_allocations)
    return allocated, in_use


def attach_methods() -> list[str]:
    """Debuggers memray can inject with here, most likely to work first."""
    return [name for name in ("lldb", "gdb") if shutil.which(name)]


def _wait_closed(capture: Path, deadline: float) -> None:
    """memray attach --duration returns at once; the target writes until the window ends."""
    import memray

    last_size = -1
    while time.monotonic() < deadline:
        if capture.exists():
            size = capture.stat().st_size
            if size == last_size and size > 0:
                try:
                    meta = memray.FileReader(str(capture)).metadata
                    if meta.end_time > meta.start_time:
                        return
                except (OSError, ValueError):
                    pass
            last_size = size
        time.sleep(0.5)
    raise ProbeError(f"memray did not finish writing {capture} in time")


def _attach(target: Target, seconds: float, capture: Path, echo: Echo) -> list[str]:
    memray = find_tool("memray", "install it with: pip install memray")
    methods = attach_methods()
    if not methods:
        raise ProbeError("memray attach needs lldb or gdb; apt-get install lldb", EXIT_TOOL_MISSING)
    failures: list[str] = []
    for method in methods:
        cmd = [memray, "attach", "--method", method, "--force",
               "--output", str(capture), "--duration", f"{max(1, round(seconds))}",
               str(target.pid)]  # fmt: skip
        echo(" ".join(cmd))
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode == 0:
            _wait_closed(capture, time.monotonic() + seconds + 60)
            return cmd
        lines = (result.stderr or result.stdout).strip().splitlines()
        failures.append(f"{method}: {lines[-1] if lines else result.returncode}")
    message = "; ".join(failures)
    if "ermission" in message or "ptrace" in message.lower():
        message += f"; {PTRACE_HINT}"
    raise ProbeError(f"memray attach failed ({message})")


# A process using less CPU than this while it is looked at runs no Python code, and memray
# attach would wait for it to (about a minute) before failing.
BUSY_CPU_PERCENT = 1.0
LOOK_SECONDS = 0.5


def _running_python(pids: list[int]) -> dict[int, bool]:
    """Which of ``pids`` used CPU while looked at for half a second."""
    procs: dict[int, psutil.Process] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            procs[pid] = psutil.Process(pid)
            procs[pid].cpu_percent(None)
    time.sleep(LOOK_SECONDS)
    busy = dict.fromkeys(pids, False)
    for pid, proc in procs.items():
        with contextlib.suppress(psutil.Error):
            busy[pid] = proc.cpu_percent(None) >= BUSY_CPU_PERCENT
    return busy


def _record_tree(
    target: Target, commands: dict[int, str], seconds: float, out_dir: Path, echo: Echo,
    limit: int, pprof: bool,
) -> HeapReport:  # fmt: skip
    """memray attach to every process of a master's tree (``commands``, by PID) that runs
    Python code, at once, for the same window; the growth of all of them by site, and each
    one's own."""
    busy = _running_python(list(commands))
    captures = {pid: out_dir / f"heap-{pid}.memray.bin" for pid, on in busy.items() if on}
    failures: dict[int, str] = {}
    cmds: list[str] = []

    def watch(pid: int) -> None:
        try:
            cmds.extend(_attach(Target(pid=pid), seconds, captures[pid], echo))
        except ProbeError as exc:
            failures[pid] = str(exc)

    threads = [threading.Thread(target=watch, args=(pid,)) for pid in captures]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows: list[ProcessGrowth] = []
    merged: list[GrowthSite] = []
    allocated, in_use = HeapSites(), HeapSites()
    for pid, command in commands.items():
        if pid not in captures or pid in failures:
            why = failures.get(pid, "idle (memray attach needs a process running Python code)")
            rows.append(ProcessGrowth(pid, command, 0, None, watched=False, reason=why))
            continue
        growth = read_growth(captures[pid], limit)
        merged += growth
        rows.append(ProcessGrowth(pid, command, sum(g.bytes for g in growth),
                                  growth[0] if growth else None, watched=True))  # fmt: skip
        if pprof:
            process_allocated, process_in_use = read_sites(captures[pid])
            allocated.merge(process_allocated)
            in_use.merge(process_in_use)
    rows.sort(key=lambda r: (-r.bytes, r.pid))
    report = HeapReport(
        target=target.describe(), seconds=seconds, source="memray attach",
        growth=_summed(merged)[:limit], command=cmds, processes=rows,
        artefacts={f"capture_{pid}": str(path) for pid, path in captures.items()},
    )  # fmt: skip
    watched = [r for r in rows if r.watched]
    report.notes.append(
        f"pid {target.pid} has {len(commands) - 1} Python worker(s); {len(watched)} process(es) "
        f"running Python were watched" + (f", pid {rows[0].pid} kept the most" if watched else "")
    )
    if pprof and watched:
        (out_dir / PPROF_FILE).write_bytes(heap_profile(in_use, seconds, "memray attach",
                                                        allocated))  # fmt: skip
        report.artefacts["pprof"] = str(out_dir / PPROF_FILE)
    return report


def _summed(growth: list[GrowthSite]) -> list[GrowthSite]:
    """The same site in several processes is one row: what they kept there together."""
    sizes: collections.Counter[Location] = collections.Counter()
    counts: collections.Counter[Location] = collections.Counter()
    for site in growth:
        sizes[site.location] += site.bytes
        counts[site.location] += site.count
    return [GrowthSite(at, size, counts[at]) for at, size in sizes.most_common()]


def _run(
    target: Target, seconds: float, capture: Path, echo: Echo
) -> tuple[list[str], LaunchedRun]:
    """``memray run`` for the window (or until the program exits); memray closes the capture
    on the SIGINT that ends the window."""
    command = list(target.command)
    if Path(command[0]).name.startswith("python"):
        cmd = [command[0], "-m", "memray", "run", "--force", "--output", str(capture)]
        cmd += command[1:]
    else:
        memray = find_tool("memray", "install it with: pip install memray")
        cmd = [memray, "run", "--force", "--output", str(capture), *command]
    echo(" ".join(cmd))
    run = run_for_window(cmd, seconds)
    if not capture.exists():
        lines = (run.stderr or run.stdout).strip().splitlines()
        raise ProbeError(f"memray run failed: {lines[-1] if lines else run.returncode}")
    return cmd, run


def _flamegraph(capture: Path, out: Path, echo: Echo) -> str | None:
    cmd = [sys.executable, "-m", "memray", "flamegraph", "--leaks", "--force",
           "--output", str(out), str(capture)]  # fmt: skip
    echo(" ".join(cmd))
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return str(out) if result.returncode == 0 and out.exists() else None


def record_heap(
    target: Target,
    seconds: float,
    out_dir: Path,
    echo: Echo = lambda _line: None,
    fallback: Callable[[float], HeapReport] | None = None,
    limit: int = 20,
    attach: bool = True,
    pprof: bool = False,
) -> HeapReport:
    """Heap growth of ``target`` over ``seconds``: of a PID, or of a command labctl starts and
    stops when the window closes (or sooner, if it exits).

    ``attach=False`` with a ``fallback`` skips memray attach: its injection once segfaulted
    the lab's multi-threaded service (in libpython, during the attach), so the lab's own
    service defaults to the in-process tracemalloc window. ``pprof`` also writes
    ``heap.pb.gz`` (see :mod:`labctl.render.pprof`)."""
    target.check()
    out_dir.mkdir(parents=True, exist_ok=True)
    capture = out_dir / "heap.memray.bin"
    notes: list[str] = []
    if not attach and fallback is not None and target.pid is not None:
        report = fallback(seconds)
        report.notes.append("memray attach skipped for the lab's service (pass --attach)")
        return _saved(report, out_dir, pprof)
    tree = target.python_tree()
    if tree:
        return _saved(_record_tree(target, tree, seconds, out_dir, echo, limit, pprof),
                      out_dir)  # fmt: skip
    try:
        if target.pid is not None:
            cmd, source = _attach(target, seconds, capture, echo), "memray attach"
        else:
            (cmd, run), source = _run(target, seconds, capture, echo), "memray run"
            notes += [n for n in [run.note(seconds)] if n]
            seconds = round(run.elapsed, 2)  # the window a program that exited sooner had
    except ProbeError as exc:
        if fallback is None or target.pid is None:
            raise
        echo(f"memray could not attach ({exc}); falling back to the debug surface's tracemalloc")
        report = fallback(seconds)
        report.notes.insert(0, f"memray attach was impossible: {exc}")
        return _saved(report, out_dir, pprof)
    report = HeapReport(
        target=target.describe(),
        seconds=seconds,
        source=source,
        growth=read_growth(capture, limit),
        artefacts={"capture": str(capture)},
        command=cmd,
        notes=notes,
    )
    html = _flamegraph(capture, out_dir / "leaks-flamegraph.html", echo)
    if html:
        report.artefacts["flamegraph"] = html
    if pprof:
        allocated, in_use = read_sites(capture)
        encoded = heap_profile(in_use, seconds, source, allocated)
        (out_dir / PPROF_FILE).write_bytes(encoded)
        report.artefacts["pprof"] = str(out_dir / PPROF_FILE)
    return _saved(report, out_dir)


PPROF_FILE = "heap.pb.gz"
GROWTH_FILE = "growth.json"


def _saved(report: HeapReport, out_dir: Path, pprof: bool = False) -> HeapReport:
    """Write ``growth.json`` beside the other artefacts and list it among them; ``pprof``
    (a report with sites only, no stacks) writes the sites as one-frame stacks too."""
    if pprof and "pprof" not in report.artefacts:
        in_use = HeapSites()
        for site in report.growth:
            in_use.add((site.location,), site.bytes, site.count)
        (out_dir / PPROF_FILE).write_bytes(heap_profile(in_use, report.seconds, report.source))
        report.artefacts["pprof"] = str(out_dir / PPROF_FILE)
        report.notes.append(
            f"{PPROF_FILE} holds in-use space and objects by site only: {report.source} "
            "reports sites, not whole stacks, and nothing of what was freed"
        )
    path = out_dir / GROWTH_FILE
    path.write_text(json.dumps(report.to_json(), indent=2))
    report.artefacts["growth"] = str(path)
    return report
