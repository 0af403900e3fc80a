"""The memory the lab needs: every process of the native stack, measured under load, and the
compose stack's ceilings (issue 7's footprint; users of comparable labs report 3-6 GB).

Natively each process's RSS and USS (memory only it holds) are sampled every 2 s for
``--seconds`` under locust's background clicks; the table keeps each one's peak. Docker has
no engine here, so the compose column is the sum of the services' memory limits: a ceiling,
not a measurement.
Run: ``make bench``. Writes ``bench/results/footprint.md``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import yaml

from bench.abtest import write
from bench.live_stack import loaded_stack
from labctl.stack.traffic import LoadShape

GOAL_BYTES = 1024**3
COMPOSE = Path(__file__).parents[1] / "docker-compose.yml"
_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}


def compose_limits() -> dict[str, int]:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    limits = {}
    for name, service in services.items():
        match = re.fullmatch(r"(\d+)([kmg])", str(service.get("mem_limit", "")).lower())
        if match and not service.get("profiles"):  # services compose starts by default
            limits[name] = int(match.group(1)) * _UNITS[match.group(2)]
    return limits


def mib(n: float) -> str:
    return f"{n / 2**20:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="memory footprint of the lab")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=40.0)
    args = parser.parse_args(argv)
    peak_rss: dict[str, int] = {}
    peak_uss: dict[str, int] = {}
    with loaded_stack(LoadShape(users=10, rate=args.rate)) as stack:
        running = stack.status().running
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            for name, record in running.items():
                procs = [psutil.Process(record.pid)]
                procs += procs[0].children(recursive=True)
                info = [p.memory_full_info() for p in procs]
                peak_rss[name] = max(peak_rss.get(name, 0), sum(i.rss for i in info))
                peak_uss[name] = max(peak_uss.get(name, 0), sum(i.uss for i in info))
            time.sleep(2)
    total_rss, total_uss = sum(peak_rss.values()), sum(peak_uss.values())
    limits = compose_limits()
    lines = [
        "# Memory footprint of the lab",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}: "
        f"the native stack (`make up`) with `labctl load start --rate {args.rate:g}`, sampled "
        f"every 2 s for {args.seconds:g} s after a 10 s warm-up, peak per process (children "
        "included), all faults off. Goal: the native stack under 1 GB resident.",
        "",
        "| process | peak RSS MiB | peak USS MiB |",
        "|---|---:|---:|",
        *(f"| {n} | {mib(peak_rss[n])} | {mib(peak_uss[n])} |" for n in sorted(peak_rss)),
        f"| **native stack** | **{mib(total_rss)}** | **{mib(total_uss)}** |",
        "",
        f"Goal met: {'yes' if total_rss < GOAL_BYTES else 'NO'} "
        f"({mib(total_rss)} MiB of {mib(GOAL_BYTES)} MiB; RSS counts shared libraries once per "
        "process, so USS is the floor and RSS the ceiling).",
        "",
        "Compose (not measured: no Docker engine here). The memory limits of the services "
        "`docker compose up` starts bound the stack from above; a planted leak hits its "
        "container's limit first:",
        "",
        "| service | mem_limit MiB |",
        "|---|---:|",
        *(f"| {n} | {mib(v)} |" for n, v in sorted(limits.items())),
        f"| **compose stack ceiling** | **{mib(sum(limits.values()))}** |",
        "",
    ]
    write("footprint.md", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
