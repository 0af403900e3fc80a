"""Lab 05's GC-tuning table with long windows, for the record (the test uses short ones):
default thresholds, raised thresholds, gc.freeze() after warm-up, and the cycle removed.

Run: ``make bench``. Writes ``bench/results/gc_tuning.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.abtest import write
from labctl.course.gc_tuning import compare_gc_settings
from labctl.evidence.session import Session
from labctl.stack.ports import ServicePorts
from labctl.stack.supervisor import Stack


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


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
        "clicks/s) and fault, one window per setting in one run. Request p99 is the server's "
        "histogram, which misses the time requests wait in the socket during a pause.",
        "",
        "| setting | requests | request p99 ms | old-gen pause p99 ms | full collections | "
        "gen-0 collections | time in old-gen GC | frozen objects | RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in trials:
        rss = "-" if t.rss_bytes is None else f"{t.rss_bytes / 2**20:.0f}"
        lines.append(
            f"| {t.setting} | {t.requests} | {ms(t.request_p99_seconds)} | "
            f"{ms(t.old_gen_pause_p99_seconds)} | {t.full_collections} | "
            f"{t.young_collections} | {t.pause_share:.1%} | {t.frozen_objects:,} | {rss} |"
        )
    lines.append("")
    write("gc_tuning.md", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
