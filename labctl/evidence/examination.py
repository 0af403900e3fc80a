"""``labctl diagnose``: gather evidence from a live process and rank findings.

It reads only what a stranger could read: the process from outside (CPU time, RSS, open
descriptors), py-spy and memray, and, when the process is the lab's service, its debug
surface and ``/metrics``. It never asks which fault is on, so it works in drill mode and on
processes that are not ours. The rules that judge the evidence are
:mod:`labctl.evidence.rules`.

Usage::

    diagnosis = diagnose(pid, seconds=10, out_dir=Path("run/diagnose/x"), patient=None)
    diagnosis.findings[0].location.function   # the culprit, innermost application frame
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
from prometheus_client.parser import text_string_to_metric_families

from labctl.contract import Metric
from labctl.evidence.patient import Patient, PatientError
from labctl.evidence.probes.fds import FILE_TYPES, code_naming, code_opening, open_files
from labctl.evidence.probes.heap import record_heap
from labctl.evidence.probes.injection import OpenWindow, open_window
from labctl.evidence.probes.pyspy import record_cpu
from labctl.evidence.probes.target import EXIT_NO_PROCESS, ProbeError, Target
from labctl.evidence.rules import findings
from labctl.evidence.sources import grep, source_scope
from labctl.evidence.window import FD_GROWTH_FLOOR, SERIES_GROWTH_FLOOR, Evidence, Sample
from labctl.records.call_stacks import Stacks
from labctl.records.captures import CpuProfile
from labctl.records.debug_views import GcReport, LoopReport, TaskCensus
from labctl.records.findings import Diagnosis

Echo = Callable[[str], None]


def _sample(proc: psutil.Process) -> Sample:
    """CPU time and RSS of the process and its workers (a master's own are near nothing),
    CPU with what its reaped children used; descriptors of the process itself."""
    with proc.oneshot():
        times = proc.cpu_times()
        cpu = times.user + times.system + times.children_user + times.children_system
        rss = {proc.pid: proc.memory_info().rss}
        fds = proc.num_fds()
    for child in proc.children(recursive=True):
        try:
            with child.oneshot():
                child_times = child.cpu_times()
                rss[child.pid] = child.memory_info().rss
        except psutil.Error:  # gone between the listing and the reading
            continue
        cpu += child_times.user + child_times.system
    return Sample(time.monotonic(), cpu, sum(rss.values()), fds, rss if len(rss) > 1 else {})


@dataclass(frozen=True)
class _Metrics:
    """What diagnose reads of one ``/metrics`` page (parsed once: under a series explosion
    the page is large)."""

    series: dict[str, int]  # series per metric family
    sends: float  # outbound SMTP transactions tried
    notices: float  # notices finished, sent or dead

    @classmethod
    def parse(cls, text: str) -> _Metrics:
        series, totals = {}, {Metric.SMTP_SENDS.value: 0.0, Metric.NOTIFICATIONS.value: 0.0}
        for family in text_string_to_metric_families(text):
            series[family.name] = len(family.samples)
            for s in family.samples:
                if s.name in totals:
                    totals[s.name] += s.value
        return cls(series, totals[Metric.SMTP_SENDS], totals[Metric.NOTIFICATIONS])


def _snapshot(patient: Patient) -> tuple[TaskCensus, GcReport, LoopReport, _Metrics | None]:
    metrics = _Metrics.parse(patient.metrics_text()) if patient.metrics_url else None
    return patient.tasks(), patient.gc(), patient.loop(), metrics


def gather(
    pid: int,
    seconds: float,
    out_dir: Path,
    patient: Patient | None = None,
    echo: Echo = lambda _line: None,
    baseline_cpu: Stacks | None = None,
    inject: bool = False,
) -> Evidence:
    """Measure ``pid`` for ``seconds`` (CPU profile, RSS, fds, debug views), then, if memory
    grew, watch the heap for another ``seconds``. With ``baseline_cpu`` (a healthy capture),
    CPU is judged by what grew against it. With ``inject`` and no ``patient``, tasks, GC and
    the loop are measured by a window run inside the process (:mod:`.probes.injection`)."""
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        raise ProbeError(f"no process with pid {pid}", EXIT_NO_PROCESS) from None
    target = Target(pid=pid)
    target.check()
    if patient is not None:
        patient.check_heap_window(seconds)  # the heap window that follows growing memory
    evidence = Evidence(pid=pid, seconds=seconds, baseline_cpu=baseline_cpu)
    before = _snapshot(patient) if patient else None
    inside = _open_inside(evidence, out_dir, echo) if inject and patient is None else None
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
            was, now = before[3], after[3]
            evidence.series = (sum(was.series.values()), sum(now.series.values()))
            grown = {name: n - was.series.get(name, 0) for name, n in now.series.items()}
            evidence.series_family = max(grown, key=lambda name: grown[name], default=None)
            evidence.sends, evidence.notices = (was.sends, now.sends), (was.notices, now.notices)
        reports = [r for r in (before[1], middle, after[1]) if r is not None]
        for name in reports[0].allocator:
            values = [r.allocator.get(name) for r in reports]
            if all(v is not None for v in values):
                evidence.allocator[name] = [v for v in values if v is not None]
    if inside is not None:
        try:
            window = inside.collect()
        except ProbeError as exc:
            evidence.notes.append(f"no window inside the process: {exc}")
        else:
            evidence.tasks, evidence.gc, evidence.loop = window.tasks, window.gc, window.loop
            evidence.injected = window
    if evidence.fd_growth >= FD_GROWTH_FLOOR:
        _explain_fds(evidence, patient)
    if evidence.series_growth >= SERIES_GROWTH_FLOOR and evidence.series_family:
        _explain_series(evidence, evidence.series_family)
    if evidence.memory_growing:
        fallback = patient.heap_fallback(echo) if patient is not None else None
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


def _open_inside(evidence: Evidence, out_dir: Path, echo: Echo) -> OpenWindow | None:
    """Queue the window inside the process before py-spy starts: one tracer at a time."""
    try:
        return open_window(evidence.pid, evidence.seconds, out_dir / "inside", echo)
    except ProbeError as exc:
        evidence.notes.append(f"no window inside the process: {exc}")
        return None


def _seen_files(evidence: Evidence, why: str) -> set[str] | None:
    """The application files the CPU profile saw running, where to grep for code."""
    if evidence.cpu is None:
        return None
    try:
        stacks = evidence.cpu.stacks()
    except (KeyError, OSError, ValueError) as exc:
        evidence.notes.append(f"no stacks to find {why}: {exc}")
        return None
    return {frame.file for stack in stacks.counts for frame in stack if frame.is_application}


def _explain_series(evidence: Evidence, family: str) -> None:
    """The code that labels the metric family whose series grew: where the metric is declared
    (its name, quoted), then the ``.labels(`` call in that file, as notebook 06 finds it."""
    seen = _seen_files(evidence, "the code that labels the metric")
    if not seen:
        return
    for scope in sorted({source_scope(f) for f in seen}):
        declared = grep(f'"{family}"', scope)
        for hit in declared:
            setters = [s for s in grep(".labels(", Path(hit.location.file)) if s.in_function]
            if setters:
                evidence.series_code = setters[0]
                return


def _explain_fds(evidence: Evidence, patient: Patient | None) -> None:
    """Which files the descriptors are (grouped by name shape), and the line of code that
    builds names of the largest group's shape, searched in the packages the CPU profile saw
    running: the diagnosis ``ls -l /proc/PID/fd`` then ``grep`` would make. With a debug
    surface, also what keeps the file objects alive and where that class opens them (the
    name may be built in a helper that every writer calls)."""
    try:
        evidence.fd_groups = open_files(evidence.pid)
    except ProbeError as exc:
        evidence.notes.append(f"no list of open files: {exc}")
        return
    if not evidence.fd_groups:
        return
    seen = _seen_files(evidence, "the code that opens the files")
    if seen is None:
        return
    scopes = sorted({source_scope(f) for f in seen})
    hits = code_naming(evidence.fd_groups[0], scopes)
    # Code that ran before code that did not.
    hits.sort(key=lambda hit: hit.location.file not in seen)
    evidence.fd_code = next((hit for hit in hits if hit.in_function), None)
    if patient is None:
        return
    for type_name in FILE_TYPES:
        try:
            owners = patient.owners(type_name)
        except PatientError as exc:
            evidence.notes.append(f"no owners of the open files: {exc}")
            return
        if owners:
            evidence.fd_owner = owners[0]
            evidence.fd_opener = next(iter(code_opening(owners[0], scopes)), None)
            return


def diagnose(
    pid: int,
    seconds: float,
    out_dir: Path,
    patient: Patient | None = None,
    echo: Echo = lambda _line: None,
    baseline_cpu: Stacks | None = None,
    inject: bool = False,
) -> Diagnosis:
    started = time.monotonic()
    evidence = gather(pid, seconds, out_dir, patient, echo, baseline_cpu, inject)
    artefacts = {}
    if evidence.cpu:
        artefacts.update({f"cpu_{k}": v for k, v in evidence.cpu.artefacts.items()})
    if evidence.heap:
        artefacts.update({f"heap_{k}": v for k, v in evidence.heap.artefacts.items()})
    notes = list(evidence.notes)
    if evidence.injected is not None:
        artefacts.update({f"inside_{k}": v for k, v in evidence.injected.artefacts.items()})
        how = evidence.injected.injected_with
        notes.append(f"no debug surface: tasks, gc and the loop were measured inside the "
                     f"process ({how}); /metrics was not read")  # fmt: skip
    elif patient is None:
        notes.append("no debug surface: tasks, gc, loop and /metrics were not examined; "
                     "--inject measures the first three inside the process")  # fmt: skip
    return Diagnosis(
        pid=pid,
        seconds=seconds,
        findings=findings(evidence),
        artefacts=artefacts,
        notes=notes,
        elapsed_seconds=time.monotonic() - started,
    )
