"""How long ``labctl diagnose`` takes to name each core fault's culprit, on a stack under
load, and whether its first finding is the right function (issue 6's performance goal).

The judge reads the catalogue's culprit; ``diagnose`` never does. Each fault is switched on
at 10x, diagnosed, switched off, and given time to heal before the next.
Run: ``make bench``. Writes ``bench/results/diagnose_time.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.abtest import write
from bench.live_stack import loaded_stack
from labctl.evidence.examination import diagnose
from labctl.evidence.patient import Patient
from labctl.stack.traffic import LoadShape

CORE = ["cpu_hotloop", "task_leak", "unbounded_cache", "gc_churn"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="diagnose: time to name each core fault")
    parser.add_argument("--seconds", type=float, default=5.0, help="diagnose's window")
    parser.add_argument("--rate", type=float, default=40.0, help="background clicks a second")
    parser.add_argument("--heal-seconds", type=float, default=10.0)
    parser.add_argument(
        "--onset-seconds", type=float, default=5.0,
        help="after the switch, before diagnose starts: an on-call engineer starts after an "
        "alert, not at the switch (at the switch, gc_churn's one-time table load is what "
        "triggers the window's full collections, and diagnose rightly names it)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    rows = []
    with (
        loaded_stack(LoadShape(users=10, rate=args.rate)) as stack,
        Patient.from_run_dir(stack.run_dir) as patient,
        tempfile.TemporaryDirectory(prefix="bench-diagnose-") as out,
    ):
        culprits = {f.id: f.culprit for f in patient.faults().catalogue}
        assert patient.pid is not None
        for fault in CORE:
            patient.fault_on(fault, "10x")
            time.sleep(args.onset_seconds)
            started = time.monotonic()
            result = diagnose(patient.pid, args.seconds, Path(out) / fault, patient)
            elapsed = time.monotonic() - started
            patient.fault_off(fault)
            first = result.findings[0] if result.findings else None
            # The catalogue says module:qualname; findings name the qualname.
            named = (
                first is not None and first.location.function == culprits[fault].partition(":")[2]
            )
            print(
                f"  {fault}: {first.location.function if first else '-'} in {elapsed:.1f} s",
                flush=True,
            )
            rows.append((fault, culprits[fault], first, named, elapsed))
            time.sleep(args.heal_seconds)
    lines = [
        "# diagnose: time to name each core fault",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}, "
        f"native stack under locust at {args.rate:g} clicks/s, each fault at 10x, "
        f"`diagnose --seconds {args.seconds:g}` started {args.onset_seconds:g} s after the switch "
        "(as after an alert). The time is diagnose's own, including the heap window it adds "
        "when memory grew.",
        "",
        "| fault | culprit (catalogue) | first finding | kind | score | named | seconds |",
        "|---|---|---|---|---:|:---:|---:|",
    ]
    for fault, culprit, first, named, elapsed in rows:
        finding = f"`{first.location.function}`" if first else "-"
        kind = first.kind if first else "-"
        score = f"{first.score:.2f}" if first else "-"
        lines.append(f"| {fault} | `{culprit}` | {finding} | {kind} | {score} | "
                     f"{'yes' if named else 'NO'} | {elapsed:.1f} |")  # fmt: skip
    lines.append("")
    write("diagnose_time.md", "\n".join(lines))
    return 0 if all(r[3] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
