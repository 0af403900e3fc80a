"""Redirect throughput with the instrumentation on, and its cost against it off.

Two real service processes on loopback, one with request-id, RED-metrics and access-log
middleware (the default) and one started with ``--no-instrumented --no-access-log``, are
driven in alternating rounds by ``wrk`` (C, so the client is not the bottleneck) on the
cache-hit redirect path. Alternating A/B rounds inside one run cancel most machine noise;
the table reports the median of each side.

Run: ``make bench`` (needs Debian's ``wrk``: ``apt-get install wrk``).
Writes ``bench/results/instrumentation_overhead.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

from labctl.processes import ProcessRecord, stop
from labctl.stack import ServicePorts, start_service

RESULTS = Path(__file__).parent / "results"
# The rate limiter is switched off: we measure the telemetry, not the limiter.
NO_LIMIT: dict[str, object] = {"rate_limit": {"enabled": False}}
ALL_LOGGED: dict[str, object] = {"access_log": {"sample_rate": 1.0}}
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")


@dataclass
class Variant:
    name: str
    args: list[str]
    record: ProcessRecord | None = None
    url: str = ""
    flags: dict[str, object] = field(default_factory=dict)
    rps: list[float] = field(default_factory=list)


def wrk(url: str, seconds: int, connections: int) -> float:
    # wrk on CPU 1, the services on CPU 0 (see main): the scheduler cannot shuffle them,
    # which took the run-to-run spread from ~3% to ~1% on a 2-core machine.
    pin = ["taskset", "-c", "1"] if (os.cpu_count() or 1) > 1 and shutil.which("taskset") else []
    out = subprocess.run(
        [*pin, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    match = _RPS.search(out)
    if match is None:
        raise RuntimeError(f"wrk printed no Requests/sec:\n{out}")
    return float(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench: wrk is missing; install it with: apt-get install wrk", file=sys.stderr)
        return 2
    variants = [
        Variant("instrumented, default access-log sampling (errors + 1%)", []),
        Variant("instrumented, every request logged", [], flags=ALL_LOGGED),
        Variant("bare (--no-instrumented)", ["--no-instrumented"]),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        try:
            for i, variant in enumerate(variants):
                run_dir = Path(tmp) / str(i)
                ports = ServicePorts.free()
                print(f"+ leaky-app {' '.join(variant.args)} on :{ports.http}", flush=True)
                variant.record = start_service(run_dir, ports, extra_args=variant.args)
                with contextlib.suppress(AttributeError, psutil.Error):
                    psutil.Process(variant.record.pid).cpu_affinity([0])
                base = f"http://127.0.0.1:{ports.http}"
                code = httpx.post(
                    f"{base}/api/v1/links", json={"url": "https://example.org/bench"}
                ).json()["code"]
                flags = {**NO_LIMIT, **variant.flags}
                (run_dir / "flags.json").write_text(json.dumps(flags))
                variant.url = f"{base}/{code}"
            for variant in variants:
                wrk(variant.url, 2, args.connections)  # warm-up
            for round_no in range(args.rounds):
                shift = round_no % len(variants)
                order = variants[shift:] + variants[:shift]
                for variant in order:
                    rps = wrk(variant.url, args.seconds, args.connections)
                    variant.rps.append(rps)
                    print(f"  round {round_no + 1}: {variant.name[:40]:<40} {rps:8.0f} req/s")
        finally:
            for variant in variants:
                if variant.record is not None:
                    stop(variant.record)
    table = render(variants, args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "instrumentation_overhead.md").write_text(table)
    print(table)
    return 0


def render(variants: list[Variant], args: argparse.Namespace) -> str:
    bare = statistics.median(variants[-1].rps)
    lines = [
        "# Redirect throughput: instrumentation on vs off",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {sys.platform}, Python "
        f"{sys.version.split()[0]}, one uvicorn worker per variant, `wrk -t1 "
        f"-c{args.connections} -d{args.seconds}s` on the cache-hit redirect, "
        f"{args.rounds} rounds in rotating order; medians. Services pinned to CPU 0, "
        "wrk to CPU 1.",
        "Goal: the default instrumentation costs under 5% of bare throughput.",
        "",
        "| variant | median req/s | vs bare | cost | rounds (req/s) |",
        "|---|---:|---:|---:|---|",
    ]
    for v in variants:
        median = statistics.median(v.rps)
        rounds = ", ".join(f"{r:.0f}" for r in v.rps)
        ratio = median / bare
        lines.append(
            f"| {v.name} | {median:.0f} | {ratio:.3f} | {(1 - ratio) * 100:.1f}% | {rounds} |"
        )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
