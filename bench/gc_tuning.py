"""Lab 05's GC-tuning table with long windows, for the record (the test uses short ones):
default thresholds, raised thresholds, gc.freeze() after warm-up, collections between
requests under a memory ceiling, and the cycle removed; the client's latency measured open
loop, the pauses one by one.

Run: ``make bench``. Writes ``bench/results/gc_tuning.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.abtest import write
from labctl.course.gc_tuning import CLIENT_RATE, compare_gc_settings
from labctl.evidence.session import Session
from labctl.records.gc_trials import GcTrial
from labctl.stack.ports import ServicePorts
from labctl.stack.supervisor import Stack


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def p999(trial: GcTrial) -> float | None:
    return trial.client.p999_seconds if trial.client else None


def goal(trials: list[GcTrial]) -> str:
    """The table's goal: the best setting at most half the defaults' client p99.9."""
    default, others = trials[0], [t for t in trials[1:] if p999(t) is not None]
    base = p999(default)
    if base is None or not others:
        return "Goal (the best setting halves the client's p99.9): not measured."
    best = min(others, key=lambda t: p999(t) or float("inf"))
    ratio = (p999(best) or 0.0) / base
    verdict = "met" if ratio <= 0.5 else f"not met: {ratio:.2f} of the defaults, short of 0.50"
    return (f"Goal, the best setting at most half the defaults' client p99.9: **{verdict}** "
            f"({best.setting}: {ms(p999(best))} ms against {ms(base)} ms).")  # fmt: skip


# What a Go engineer reaches for that Python lacks, and why.
NO_COUNTERPART = (
    "No Python counterpart: a pause target (Go's GC paces itself to a latency goal; CPython's "
    "collector stops the world for the whole walk of a generation, however long), a "
    "concurrent or incremental collector (no cycle collection runs beside the program), and "
    "ballast (a big allocation raises Go's heap goal; CPython's thresholds count container "
    "allocations, not bytes, so a bytes ballast changes nothing, and a ballast of many "
    "long-lived objects makes full collections rarer, since one runs only when the objects "
    "waiting pass a quarter of the long-lived ones, but every one of them then walks the "
    "ballast too: longer pauses, no gain; gc.freeze() is the way to take objects out of the "
    "walk). `SetMemoryLimit`'s nearest "
    "counterpart is the idle collector's ceiling above: a full collection forced only past a "
    "memory size."
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GC settings side by side under lab 05")
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-gc-") as tmp:
        stack = Stack(Path(tmp))
        try:
            status = stack.up(ServicePorts.free())
            progress = lambda m: print(f"+ {m}", flush=True)  # noqa: E731
            with Session.of(status) as session:
                trials = compare_gc_settings(session, args.seconds, progress=progress)
        finally:
            stack.down()
    lines = [
        "# GC settings side by side (lab 05, gc_churn at 10x)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}, "
        f"`labctl lab gc-tuning --seconds {args.seconds:g}`: lab 05's load (locust, 100 "
        "clicks/s) and fault, one window per setting in one run. The client columns are an "
        f"open-loop client's ({CLIENT_RATE:g} redirects/s beside the load), each latency "
        "counted from the request's due time, so a pause shows in every request due during "
        "it; the server's p99 is its own histogram, blind to time spent waiting in the "
        "socket. Old-generation pauses are measured one by one (exact), not bucket bounds.",
        "",
        "| setting | client p50 ms | client p99 ms | client p99.9 ms | client max ms | "
        "server p99 ms | old-gen pause p99 ms | longest pause ms | full collections | "
        "time in old-gen GC | frozen objects | RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in trials:
        c = t.client
        rss = "-" if t.rss_bytes is None else f"{t.rss_bytes / 2**20:.0f}"
        lines.append(
            f"| {t.setting} | {ms(c.p50_seconds if c else None)} | "
            f"{ms(c.p99_seconds if c else None)} | {ms(c.p999_seconds if c else None)} | "
            f"{ms(c.max_seconds if c else None)} | {ms(t.request_p99_seconds)} | "
            f"{ms(t.old_gen_pause_p99_seconds)} | {ms(t.old_gen_pause_max_seconds)} | "
            f"{t.full_collections} | {t.pause_share:.1%} | {t.frozen_objects:,} | {rss} |"
        )
    lines += ["", goal(trials), "", NO_COUNTERPART, ""]
    write("gc_tuning.md", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
