"""``labctl diagnose``: gather evidence from a live process and rank findings.

It reads only what a stranger could read: the process from outside (CPU time, RSS, open
descriptors), py-spy and memray, and, when the process is the lab's service, its debug
surface and ``/metrics``. It never asks which fault is on, so it works in drill mode and on
processes that are not ours.

Usage::

    diagnosis = diagnose(pid, seconds=10, out_dir=Path("run/diagnose/x"), patient=None)
    diagnosis.findings[0].function   # the culprit, innermost application frame

Scores are in [0, 1]: how far the symptom is from a healthy process, so kinds compare.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from labctl.patient import Patient, PatientError
from labctl.probes.fds import FdGroup, code_naming, open_files
from labctl.probes.heap import HeapReport, record_heap
from labctl.probes.pyspy import CpuProfile, record_cpu
from labctl.probes.target import EXIT_NO_PROCESS, ProbeError, Target
from labctl.sources import SourceHit, source_scope
from labctl.views import GcReport, LoopReport, TaskCensus, gc_windows

Echo = Callable[[str], None]

# Below these, a symptom is within what a healthy service under load shows.
CPU_SHARE_FLOOR = 0.2  # the top function's share of samples
RSS_GROWTH_FLOOR = 0.03  # growth over the window as a share of RSS at its start
TASK_GROWTH_FLOOR = 50
GC_SHARE_FLOOR = 0.01  # wall time in older-generation collections
LOOP_STALL_FLOOR = 0.05  # share of the window the loop spent blocked
FD_GROWTH_FLOOR = 20
SERIES_GROWTH_FLOOR = 200
# Growth that the heap window then finds almost none of still alive was warm-up or allocator
# noise; a leak at a workshop's intensities leaves several MiB in a few seconds.
HEAP_CONFIRM_BYTES = 1 << 20


@dataclass(frozen=True)
class Finding:
    kind: str  # cpu, memory, tasks, gc, loop, fds, cardinality
    function: str
    file: str
    line: int
    evidence: str
    score: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Sample:
    at: float
    cpu_seconds: float
    rss: int
    fds: int


@dataclass
class Evidence:
    """What was measured in one window; ``findings`` turns it into ranked findings."""

    pid: int
    seconds: float
    samples: list[Sample] = field(default_factory=list)
    cpu: CpuProfile | None = None
    heap: HeapReport | None = None
    tasks: tuple[TaskCensus, TaskCensus] | None = None
    gc: tuple[GcReport, GcReport] | None = None
    loop: tuple[LoopReport, LoopReport] | None = None
    series: tuple[int, int] | None = None
    # Live memory per allocator (the lab's service reports it): start, middle, end.
    allocator: dict[str, list[int]] = field(default_factory=dict)
    fd_groups: list[FdGroup] = field(default_factory=list)  # when descriptors grew
    fd_code: SourceHit | None = None  # the line that names the largest group's files
    notes: list[str] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return max(1e-6, self.samples[-1].at - self.samples[0].at) if self.samples else 0.0

    @property
    def rss_growth(self) -> float:
        """RSS growth over the window, as a share of RSS at its start."""
        return _growth([s.rss for s in self.samples])[0]

    @property
    def heap_growth(self) -> tuple[str, float] | None:
        """The allocator whose live memory grew most, and by what share."""
        grown = [(name, _growth(values)[0]) for name, values in self.allocator.items()]
        return max(grown, key=lambda g: g[1]) if grown else None

    @property
    def memory_growing(self) -> bool:
        """RSS or an allocator's live memory kept growing through the window by more than the
        floor. The allocators catch a leak that refills memory freed earlier: RSS stays flat."""
        series = [[s.rss for s in self.samples], *self.allocator.values()]
        return any(
            share >= RSS_GROWTH_FLOOR and sustained for share, sustained in map(_growth, series)
        )

    @property
    def memory_leaking(self) -> bool:
        """Memory kept growing and the heap window, when one ran, found it still alive."""
        if not self.memory_growing:
            return False
        return self.heap is None or self.heap.total_bytes >= HEAP_CONFIRM_BYTES

    @property
    def cpu_cores(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        return (self.samples[-1].cpu_seconds - self.samples[0].cpu_seconds) / self.wall


@dataclass
class Diagnosis:
    pid: int
    seconds: float
    findings: list[Finding]
    artefacts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "seconds": self.seconds,
            "findings": [f.to_json() for f in self.findings],
            "artefacts": self.artefacts,
            "notes": self.notes,
            "elapsed_seconds": round(self.elapsed_seconds, 2),
        }


def _growth(values: list[int]) -> tuple[float, bool]:
    """Growth over a series as a share of its first value, and whether it was sustained:
    the later half grew by at least a quarter of the whole, so a warm-up step that levelled
    off does not count."""
    if len(values) < 2:
        return 0.0, False
    first, mid, last = values[0], values[len(values) // 2], values[-1]
    share = (last - first) / max(1, first)
    if len(values) < 3:
        return share, share > 0
    return share, last - mid >= 0.25 * (last - first) > 0


def _sample(proc: psutil.Process) -> Sample:
    with proc.oneshot():
        times = proc.cpu_times()
        return Sample(time.monotonic(), times.user + times.system, proc.memory_info().rss,
                      proc.num_fds())  # fmt: skip


def _series_count(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def _snapshot(patient: Patient) -> tuple[TaskCensus, GcReport, LoopReport, int | None]:
    series = _series_count(patient.metrics_text()) if patient.metrics_url else None
    return patient.tasks(), patient.gc(), patient.loop(), series


def gather(
    pid: int,
    seconds: float,
    out_dir: Path,
    patient: Patient | None = None,
    echo: Echo = lambda _line: None,
) -> Evidence:
    """Measure ``pid`` for ``seconds`` (CPU profile, RSS, fds, debug views), then, if memory
    grew, watch the heap for another ``seconds``."""
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        raise ProbeError(f"no process with pid {pid}", EXIT_NO_PROCESS) from None
    target = Target(pid=pid)
    target.check()
    evidence = Evidence(pid=pid, seconds=seconds)
    before = _snapshot(patient) if patient else None
    cpu_result: list[CpuProfile] = []
    cpu_error: list[ProbeError] = []

    def profile_cpu() -> None:
        try:
            cpu_result.append(record_cpu(target, seconds, out_dir / "cpu", echo=echo))
        except ProbeError as exc:
            cpu_error.append(exc)

    sampler = threading.Thread(target=profile_cpu, name="diagnose-py-spy")
    evidence.samples.append(_sample(proc))
    sampler.start()
    deadline = time.monotonic() + seconds
    middle: GcReport | None = None
    while time.monotonic() < deadline:
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        evidence.samples.append(_sample(proc))
        if patient and middle is None and deadline - time.monotonic() <= seconds / 2:
            middle = patient.gc()
    sampler.join(timeout=seconds + 120)
    if cpu_result:
        evidence.cpu = cpu_result[0]
    elif cpu_error:
        evidence.notes.append(f"no CPU profile: {cpu_error[0]}")
    if patient and before:
        after = _snapshot(patient)
        evidence.tasks = (before[0], after[0])
        evidence.gc = (before[1], after[1])
        evidence.loop = (before[2], after[2])
        if before[3] is not None and after[3] is not None:
            evidence.series = (before[3], after[3])
        reports = [r for r in (before[1], middle, after[1]) if r is not None]
        for name in reports[0].allocator:
            values = [r.allocator.get(name) for r in reports]
            if all(v is not None for v in values):
                evidence.allocator[name] = [v for v in values if v is not None]
    if evidence.samples[-1].fds - evidence.samples[0].fds >= FD_GROWTH_FLOOR:
        _explain_fds(evidence)
    if evidence.memory_growing:
        fallback = None
        if patient is not None:
            lab = patient

            def fallback(window: float) -> HeapReport:
                echo(f"GET /debug/heap?seconds={window:g}")
                return lab.heap_window(window)

        try:
            # The lab's service: its tracemalloc window, not memray attach (see record_heap).
            evidence.heap = record_heap(
                target, seconds, out_dir / "heap", echo, fallback, attach=fallback is None
            )
        except (ProbeError, PatientError) as exc:
            evidence.notes.append(f"no heap profile: {exc}")
        if evidence.heap and not evidence.memory_leaking:
            evidence.notes.append(
                f"memory grew, but the heap window found only "
                f"{evidence.heap.total_bytes / 2**20:.1f} MiB still alive: not a leak"
            )
    return evidence


def _explain_fds(evidence: Evidence) -> None:
    """Which files the descriptors are (grouped by name shape), and the line of code that
    builds names of the largest group's shape, searched in the packages the CPU profile saw
    running: the diagnosis ``ls -l /proc/PID/fd`` then ``grep`` would make."""
    try:
        evidence.fd_groups = open_files(evidence.pid)
    except ProbeError as exc:
        evidence.notes.append(f"no list of open files: {exc}")
        return
    if not evidence.fd_groups or evidence.cpu is None:
        return
    try:
        stacks = evidence.cpu.stacks()
    except (KeyError, OSError, ValueError) as exc:
        evidence.notes.append(f"no stacks to find the code that opens the files: {exc}")
        return
    seen = {frame.file for stack in stacks.counts for frame in stack if frame.is_application}
    hits = code_naming(evidence.fd_groups[0], sorted({source_scope(f) for f in seen}))
    hits.sort(key=lambda hit: hit.file not in seen)  # code that ran before code that did not
    evidence.fd_code = next((hit for hit in hits if hit.function), None)


def findings(evidence: Evidence) -> list[Finding]:
    """Ranked findings from measured evidence: highest score first."""
    found: list[Finding] = []
    cpu = evidence.cpu
    if cpu and cpu.top and cpu.top[0].self_pct / 100 >= CPU_SHARE_FLOOR:
        hot = cpu.top[0]
        cores = min(1.0, evidence.cpu_cores)
        found.append(Finding(
            "cpu", hot.function, hot.file, hot.line,
            f"{hot.self_pct:.0f}% of {cpu.samples} CPU samples are in {hot.function} while "
            f"the process uses {evidence.cpu_cores:.2f} cores",
            round(cores * hot.self_pct / 100, 3),
        ))  # fmt: skip
    task_site = None
    if evidence.tasks:
        before, after = evidence.tasks
        growth = after.count - before.count
        if growth >= TASK_GROWTH_FLOOR:
            was = before.by_site()
            ranked = sorted(after.groups, key=lambda g: -(g.count - was.get(g.site, 0)))
            site = ranked[0].site if ranked else None
            task_site = site.function if site else None
            found.append(Finding(
                "tasks", site.function if site else "?", site.file if site else "?",
                site.line if site else 0,
                f"live asyncio tasks grew from {before.count} to {after.count} in "
                f"{evidence.seconds:g} s; most were created at {site}",
                round(min(1.0, growth / (10 * TASK_GROWTH_FLOOR)), 3),
            ))  # fmt: skip
    if evidence.memory_leaking:
        growth_mib = (evidence.samples[-1].rss - evidence.samples[0].rss) / 2**20
        heap = evidence.heap
        top = heap.growth[0] if heap and heap.growth else None
        heap_growth = evidence.heap_growth
        grew = max(evidence.rss_growth, heap_growth[1] if heap_growth else 0.0)
        score = min(1.0, grew / (10 * RSS_GROWTH_FLOOR))
        if top is not None and top.function == task_site:
            score /= 2  # the tasks are the cause; the memory they hold is the consequence
        found.append(Finding(
            "memory", top.function if top else "?", top.file if top else "?",
            top.line if top else 0,
            f"RSS grew {growth_mib:.1f} MiB ({evidence.rss_growth:.0%}) in "
            f"{evidence.seconds:g} s"
            + (f", {heap_growth[0].replace('_', ' ')} {heap_growth[1]:.0%}"
               if heap_growth else "")
            + (f"; {top.bytes / 2**20:.1f} MiB still alive was allocated in {top.function} "
               f"({heap.source})" if top and heap else ""),
            round(score, 3),
        ))  # fmt: skip
    gc_paused = 0.0
    if evidence.gc:
        before_gc, after_gc = evidence.gc
        old = [p for p in zip(before_gc.pauses, after_gc.pauses, strict=True)
               if p[1].generation >= 1]  # fmt: skip
        gc_paused = sum(a.total_seconds - b.total_seconds for b, a in old)
        share = gc_paused / max(evidence.wall, 1e-6)
        if share >= GC_SHARE_FLOOR:
            blamed = after_gc.triggers_since(before_gc)
            site = blamed[0].site if blamed else None
            windows = gc_windows([("window", before_gc, after_gc)])
            p99 = max((w.p99_seconds or 0.0) for w in windows if w.generation >= 1)
            found.append(Finding(
                "gc", site.function if site else "?", site.file if site else "?",
                site.line if site else 0,
                f"older-generation collections took {share:.1%} of the window (pause p99 "
                f"<= {p99 * 1000:.0f} ms); {site} was allocating when they started",
                round(min(1.0, share / (10 * GC_SHARE_FLOOR)), 3),
            ))  # fmt: skip
    if evidence.loop:
        before_loop, after_loop = evidence.loop
        seen = {(s.started_at, s.seconds) for s in before_loop.stalls}
        new = [s for s in after_loop.stalls if (s.started_at, s.seconds) not in seen]
        # A stop-the-world collection stalls the loop too; that part is the GC finding's.
        blocked = max(0.0, sum(s.seconds for s in new) - gc_paused)
        share = blocked / max(evidence.wall, 1e-6)
        if share >= LOOP_STALL_FLOOR:
            located = [s for s in new if s.location]
            counts: dict[str, float] = {}  # blocked seconds per location
            for s in located:
                counts[str(s.location)] = counts.get(str(s.location), 0.0) + s.seconds
            worst = max(located, key=lambda s: counts[str(s.location)]) if located else None
            loc = worst.location if worst else None
            found.append(Finding(
                "loop", loc.function if loc else "?", loc.file if loc else "?",
                loc.line if loc else 0,
                f"the event loop was blocked {share:.0%} of the window in {len(new)} stalls; "
                f"the longest share in {loc}",
                round(min(1.0, share / (5 * LOOP_STALL_FLOOR)), 3),
            ))  # fmt: skip
    fd_growth = evidence.samples[-1].fds - evidence.samples[0].fds if evidence.samples else 0
    if fd_growth >= FD_GROWTH_FLOOR:
        biggest = evidence.fd_groups[0] if evidence.fd_groups else None
        code = evidence.fd_code
        files = f"{biggest.folder}/{biggest.shape}" if biggest else "?"
        found.append(Finding(
            "fds", (code and code.function) or "?", code.file if code else files,
            code.line if code else 0,
            f"open descriptors grew by {fd_growth} in {evidence.seconds:g} s"
            + (f"; {biggest.count} open files are {files}" if biggest else "")
            + (f", named by `{code.text}`" if code else ""),
            round(min(1.0, fd_growth / (10 * FD_GROWTH_FLOOR)), 3),
        ))  # fmt: skip
    if evidence.series:
        grew = evidence.series[1] - evidence.series[0]
        if grew >= SERIES_GROWTH_FLOOR:
            found.append(Finding(
                "cardinality", "?", "/metrics", 0,
                f"/metrics grew from {evidence.series[0]} to {evidence.series[1]} series in "
                f"{evidence.seconds:g} s",
                round(min(1.0, grew / (10 * SERIES_GROWTH_FLOOR)), 3),
            ))  # fmt: skip
    return sorted(found, key=lambda f: -f.score)


def diagnose(
    pid: int,
    seconds: float,
    out_dir: Path,
    patient: Patient | None = None,
    echo: Echo = lambda _line: None,
) -> Diagnosis:
    started = time.monotonic()
    evidence = gather(pid, seconds, out_dir, patient, echo)
    artefacts = {}
    if evidence.cpu:
        artefacts.update({f"cpu_{k}": v for k, v in evidence.cpu.artefacts.items()})
    if evidence.heap:
        artefacts.update({f"heap_{k}": v for k, v in evidence.heap.artefacts.items()})
    notes = list(evidence.notes)
    if patient is None:
        notes.append("no debug surface: tasks, gc, loop and /metrics were not examined")
    return Diagnosis(
        pid=pid,
        seconds=seconds,
        findings=findings(evidence),
        artefacts=artefacts,
        notes=notes,
        elapsed_seconds=time.monotonic() - started,
    )
