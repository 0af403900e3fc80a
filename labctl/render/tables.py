"""Rich tables for the typed records; the CLI prints them, notebooks may too."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from labctl.records.call_stacks import Caller
from labctl.records.captures import CpuProfile, HeapReport, ScaleneProfile
from labctl.records.checks import Check
from labctl.records.comparisons import CpuDiff, HeapDiff
from labctl.records.debug_views import GcReport, GcWindow, LoopReport, ObjectCensus, TaskCensus
from labctl.records.fault_board import FaultBoard
from labctl.records.findings import Diagnosis
from labctl.records.gc_trials import GcTrial


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds == float("inf"):
        return "> 2500"
    return f"{seconds * 1000:.2f}"


def mib(n: int) -> str:
    return f"{n / 1024 / 1024:.2f}"


def cpu_table(profile: CpuProfile) -> Table:
    table = Table("self %", "total %", "function", "file:line", title=f"{profile.samples} samples")
    for row in profile.top:
        at = row.location
        table.add_row(f"{row.self_pct:.1f}", f"{row.total_pct:.1f}", at.function,
                      f"{at.file}:{at.line}")  # fmt: skip
    return table


def processes_table(profile: CpuProfile) -> Table:
    table = Table("% of samples", "samples", "pid", "hottest function", "command",
                  title="by process (the master and its workers)")  # fmt: skip
    for p in profile.processes:
        table.add_row(f"{p.share_pct:.1f}", str(p.samples), str(p.pid),
                      p.top.location.function if p.top else "-", p.command[:60])  # fmt: skip
    return table


def callers_table(function: str, callers: list[Caller]) -> Table:
    table = Table("% of its samples", "samples", "caller", "file", title=f"who calls {function}")
    for c in callers:
        table.add_row(f"{c.share_pct:.1f}", str(c.samples), c.location.function, c.location.file)
    if not callers:
        table.add_row("-", "0", f"{function} was not sampled, or only at the top of its stacks", "")
    return table


def cpu_diff_table(diff: CpuDiff) -> Table:
    table = Table("self Δ pp", "self base → new %", "total Δ pp", "function", "file:line",
                  title=f"share of samples, base ({diff.base_samples}) against new "
                  f"({diff.new_samples})")  # fmt: skip
    for c in diff.changes:
        at = c.location
        table.add_row(f"{c.self_delta_pct:+.1f}", f"{c.base_self_pct:.1f} → {c.new_self_pct:.1f}",
                      f"{c.total_delta_pct:+.1f}", at.function, f"{at.file}:{at.line}")  # fmt: skip
    return table


def heap_diff_table(diff: HeapDiff) -> Table:
    table = Table("Δ KiB/s", "base → new KiB/s", "new MiB", "function", "file:line",
                  title=f"kept a second, base ({diff.base_seconds:g} s) against new "
                  f"({diff.new_seconds:g} s)")  # fmt: skip
    for c in diff.changes:
        at = c.location
        table.add_row(f"{c.rate_delta / 1024:+.1f}",
                      f"{c.base_rate / 1024:.1f} → {c.new_rate / 1024:.1f}", mib(c.new_bytes),
                      at.function, f"{at.file}:{at.line}")  # fmt: skip
    return table


def scalene_cpu_table(profile: ScaleneProfile) -> Table:
    table = Table("CPU %", "Python %", "function", "file:line", "source",
                  title=f"lines by CPU ({profile.seconds:.1f} s run)")  # fmt: skip
    for c in profile.top_cpu():
        at = c.location
        table.add_row(f"{c.cpu_pct:.1f}", f"{c.python_pct:.1f}", at.function,
                      f"{Path(at.file).name}:{at.line}", c.source)  # fmt: skip
    return table


def scalene_memory_table(profile: ScaleneProfile) -> Table:
    title = f"lines by memory (footprint peak {profile.max_footprint_mb:.1f} MB)"
    table = Table("allocated MB", "peak MB", "function", "file:line", "source", title=title)
    for c in profile.top_memory():
        at = c.location
        table.add_row(f"{c.malloc_mb:.1f}", f"{c.peak_mb:.1f}", at.function,
                      f"{Path(at.file).name}:{at.line}", c.source)  # fmt: skip
    return table


def heap_table(report: HeapReport) -> Table:
    table = Table(
        "MiB", "allocations", "function", "file:line",
        title=f"still alive after the window ({report.source}, {report.seconds:g} s)",
    )  # fmt: skip
    for g in report.growth:
        at = g.location
        table.add_row(mib(g.bytes), str(g.count), at.function, f"{at.file}:{at.line}")
    return table


def heap_processes_table(report: HeapReport) -> Table:
    table = Table("MiB kept", "pid", "where most was allocated", "command",
                  title="by process (the master and its workers)")  # fmt: skip
    for p in report.processes:
        where = p.top.location.function if p.top else (p.reason if not p.watched else "-")
        table.add_row(mib(p.bytes) if p.watched else "-", str(p.pid), where, p.command[:60])
    return table


def tasks_table(census: TaskCensus) -> Table:
    table = Table("tasks", "oldest (s)", "created at", title=f"{census.count} live tasks")
    for g in census.groups:
        table.add_row(str(g.count), f"{g.oldest_age_seconds:.1f}", str(g.site))
    return table


def task_window_table(before: TaskCensus, after: TaskCensus, seconds: float) -> Table:
    """Tasks per place at the end of a window, and how many it gained, most gained first."""
    was = before.by_site()
    title = f"{before.count} -> {after.count} live tasks in {seconds:.1f} s"
    table = Table("tasks", "gained", "suspended at", title=title)
    for g in sorted(after.groups, key=lambda g: -(g.count - was.get(g.site, 0))):
        table.add_row(str(g.count), f"{g.count - was.get(g.site, 0):+d}", str(g.site))
    return table


def gc_table(report: GcReport) -> Table:
    table = Table(
        "gen", "collections", "pause p50 ms", "pause p99 ms", "max ms", "total s",
        title=f"thresholds {report.threshold}, frozen {report.frozen_objects}, "
        f"garbage {report.garbage}",
    )  # fmt: skip
    for p in report.pauses:
        table.add_row(str(p.generation), str(p.count), ms(p.p50_seconds), ms(p.p99_seconds),
                      ms(p.max_seconds), f"{p.total_seconds:.3f}")  # fmt: skip
    return table


def gc_triggers_table(report: GcReport) -> Table:
    table = Table("pause s", "collections", "allocating when gen 1/2 ran",
                  title="who was allocating when older collections started")  # fmt: skip
    for t in report.triggers:
        table.add_row(f"{t.pause_seconds:.4f}", str(t.collections), str(t.site))
    return table


def gc_windows_table(rows: list[GcWindow]) -> Table:
    table = Table("window", "gen", "collections", "pause p99 ms", title="GC pauses per window")
    for row in rows:
        table.add_row(row.window, str(row.generation), str(row.collections), ms(row.p99_seconds))
    return table


def loop_table(report: LoopReport) -> Table:
    table = Table(
        "blocked ms", "where the loop was",
        title=f"loop lag p50 {ms(report.lag_p50_seconds)} ms, p99 {ms(report.lag_p99_seconds)}"
        f" ms, max {ms(report.lag_max_seconds)} ms over {report.beats} beats",
    )  # fmt: skip
    for s in report.stalls:
        table.add_row(f"{s.seconds * 1000:.0f}", str(s.location) if s.location else "?")
    return table


def objects_table(census: ObjectCensus) -> Table:
    table = Table("type", "count", "grew by", title="objects by type (objgraph)")
    growth = {t.type: t.delta for t in census.growth}
    for t in census.most_common:
        delta = growth.get(t.type)
        table.add_row(t.type, str(t.count), f"+{delta}" if delta else "")
    return table


def findings_table(diagnosis: Diagnosis) -> Table:
    table = Table("#", "kind", "score", "function", "where", "evidence",
                  title=f"findings for pid {diagnosis.pid} ({diagnosis.seconds:g} s window, "
                  f"{diagnosis.elapsed_seconds:.0f} s in all)")  # fmt: skip
    for i, f in enumerate(diagnosis.findings, 1):
        at = f.location
        table.add_row(str(i), f.kind, f"{f.score:.2f}", at.function, f"{at.file}:{at.line}",
                      f.evidence)  # fmt: skip
    return table


def gc_trials_table(trials: list[GcTrial]) -> Table:
    """The client's latency first (what users feel), then the server's view and the cost."""
    table = Table("setting", "client p50 ms", "client p99 ms", "client p99.9 ms",
                  "client max ms", "server p99 ms", "old-gen pause p99 ms", "longest pause ms",
                  "full collections", "time in old-gen GC", "frozen", "RSS MiB",
                  title="GC settings side by side (same load, same window)")  # fmt: skip
    for t in trials:
        c = t.client
        table.add_row(t.setting, ms(c.p50_seconds if c else None),
                      ms(c.p99_seconds if c else None), ms(c.p999_seconds if c else None),
                      ms(c.max_seconds if c else None), ms(t.request_p99_seconds),
                      ms(t.old_gen_pause_p99_seconds), ms(t.old_gen_pause_max_seconds),
                      str(t.full_collections), f"{t.pause_share:.1%}", f"{t.frozen_objects:,}",
                      "-" if t.rss_bytes is None else mib(int(t.rss_bytes)))  # fmt: skip
    return table


def checks_table(checks: list[Check]) -> Table:
    table = Table("check", "", "detail", "fix")
    for c in checks:
        mark = "[green]ok[/green]" if c.ok else "[red]missing[/red]" if c.required else (
            "[yellow]optional[/yellow]")  # fmt: skip
        table.add_row(c.name, mark, c.detail, c.fix)
    return table


def faults_table(board: FaultBoard) -> Table:
    """In a drill, what is on stays hidden: finding it is the exercise."""
    table = Table("fault", "state", "intensities", "summary", "symptoms", "cap",
                  title="drill running: fault state hidden" if board.drill else None)  # fmt: skip
    for f in board.catalogue:
        state = f"[red]on {f.active}[/red]" if f.active else "off"
        state = "hidden" if board.drill else state
        table.add_row(f.id, state, " ".join(f.intensities), f.summary, "\n".join(f.symptoms), f.cap)
    return table
