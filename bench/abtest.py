"""Side-by-side throughput of service variants, in one run.

Each variant is a real service process with its own flags; ``wrk`` (C, so the client is not
the bottleneck) drives the cache-hit redirect in rotating rounds, and the table reports each
variant's median and its ratio to the last variant (the baseline). Services are pinned to CPU
0 and wrk to CPU 1, which took the run-to-run spread from ~3% to ~1% on a 2-core machine.
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
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

from labctl.contract import RunLayout
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import ProcessRecord, stop
from labctl.stack.service import start_service

RESULTS = Path(__file__).parent / "results"
# The rate limiter is switched off: we measure the variants, not the limiter.
NO_LIMIT: dict[str, object] = {"rate_limit": {"enabled": False}}
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_REQUESTS = re.compile(r"(\d+) requests in")
_BAD_ANSWERS = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class Round:
    rps: float
    requests: int
    errors: int = 0  # socket errors and answers other than 2xx or 3xx


# Something to keep running beside a variant for the whole measurement (a profiler); called
# with the variant, once it is up, and the seconds the rounds will take.
Attach = Callable[["Variant", float], AbstractContextManager[object]]


@dataclass
class Variant:
    name: str
    args: list[str]
    flags: dict[str, object] = field(default_factory=dict)
    attach: Attach | None = None
    rps: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)  # service CPU per request, per round
    errors: int = 0  # over every round
    record: ProcessRecord | None = None
    run_dir: Path | None = None
    url: str = ""


def parse_args(
    argv: list[str] | None,
    description: str,
    *,
    rounds: int = 8,
    seconds: int = 8,
    instances: int = 1,
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--seconds", type=int, default=seconds)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--instances",
        type=int,
        default=instances,
        help="service processes per variant, averaged per round: two processes of one "
        "variant differed by up to 7%% here (memory layout, hash seeds)",
    )
    return parser.parse_args(argv)


def wrk(url: str, seconds: int, connections: int) -> Round:
    pin = ["taskset", "-c", "1"] if (os.cpu_count() or 1) > 1 and shutil.which("taskset") else []
    out = subprocess.run(
        [*pin, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    rps, requests = _RPS.search(out), _REQUESTS.search(out)
    if rps is None or requests is None:
        raise RuntimeError(f"wrk printed no Requests/sec:\n{out}")
    bad, sockets = _BAD_ANSWERS.search(out), _SOCKET_ERRORS.search(out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return Round(float(rps.group(1)), int(requests.group(1)), errors)


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU time of ``process`` (its threads included, its children not)."""
    times = process.cpu_times()
    return float(times.user + times.system)


def run(variants: list[Variant], args: argparse.Namespace) -> None:
    """Start every variant (``args.instances`` processes of each), then measure them in
    rotating order; fills each variant's ``rps`` and ``cpu_us`` with one value per round, the
    mean over its processes."""
    instances = args.instances
    slots = [replace(v, rps=[], cpu_us=[]) for v in variants for _ in range(instances)]
    _run(slots, args)
    for i, variant in enumerate(variants):
        mine = slots[i * instances : (i + 1) * instances]
        variant.record, variant.run_dir, variant.url = mine[0].record, mine[0].run_dir, mine[0].url
        variant.rps = [statistics.fmean(r) for r in zip(*(s.rps for s in mine), strict=True)]
        variant.cpu_us = [statistics.fmean(c) for c in zip(*(s.cpu_us for s in mine), strict=True)]
        variant.errors = sum(s.errors for s in mine)


def _run(variants: list[Variant], args: argparse.Namespace) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is missing; install it with: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, contextlib.ExitStack() as attached:
        try:
            for i, variant in enumerate(variants):
                run_dir = Path(tmp) / str(i)
                ports = ServicePorts.free()
                print(f"+ leaky-app {' '.join(variant.args)} on :{ports.http}", flush=True)
                variant.record = start_service(RunLayout(run_dir), ports, extra_args=variant.args)
                variant.run_dir = run_dir
                with contextlib.suppress(AttributeError, psutil.Error):
                    psutil.Process(variant.record.pid).cpu_affinity([0])
                base = f"http://127.0.0.1:{ports.http}"
                created = httpx.post(f"{base}/api/v1/links", json={"url": "https://e.org/b"})
                (run_dir / "flags.json").write_text(json.dumps({**NO_LIMIT, **variant.flags}))
                variant.url = f"{base}/{created.json()['code']}"
            for variant in variants:
                wrk(variant.url, 2, args.connections)  # warm-up; lets the flags apply
            rounds_seconds = args.rounds * len(variants) * (args.seconds + 2) + 30
            for variant in variants:
                if variant.attach is not None:
                    print(f"+ attach to {variant.name}", flush=True)
                    attached.enter_context(variant.attach(variant, rounds_seconds))
            for round_no in range(args.rounds):
                shift = round_no % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    assert variant.record is not None
                    process = psutil.Process(variant.record.pid)
                    cpu_before = cpu_seconds(process)
                    result = wrk(variant.url, args.seconds, args.connections)
                    cpu_us = (cpu_seconds(process) - cpu_before) / result.requests * 1e6
                    variant.rps.append(result.rps)
                    variant.errors += result.errors
                    variant.cpu_us.append(cpu_us)
                    print(
                        f"  round {round_no + 1}: {variant.name[:48]:<48} "
                        f"{result.rps:8.0f} req/s {cpu_us:7.1f} µs CPU/req"
                    )
        finally:
            attached.close()
            for variant in variants:
                if variant.record is not None:
                    stop(variant.record)


def render(title: str, goal: str, variants: list[Variant], args: argparse.Namespace) -> str:
    lines = [
        f"# {title}",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}, "
        f"one uvicorn worker per variant, `wrk -t1 -c{args.connections} -d{args.seconds}s` on "
        f"the cache-hit redirect, {args.rounds} rounds in rotating order, "
        f"{args.instances} process(es) per variant averaged in each round; "
        "medians. Services pinned to CPU 0, wrk to CPU 1. Throughput cost: the median of each "
        "round's ratio to the baseline's run in the same round. CPU cost: the service's CPU "
        "time per request (user + system, over the requests wrk counted), median over rounds, "
        "against the baseline's.",
        f"Goal: {goal}",
        "",
        "| variant | median req/s | throughput cost | CPU µs/req | CPU cost | rounds (req/s) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    base = variants[-1]
    base_cpu = statistics.median(base.cpu_us)
    for v in variants:
        # Paired: each round's ratio to the baseline's run in the same round.
        ratio = statistics.median(r / b for r, b in zip(v.rps, base.rps, strict=True))
        cpu = statistics.median(v.cpu_us)
        rounds = ", ".join(f"{r:.0f}" for r in v.rps)
        lines.append(
            f"| {v.name} | {statistics.median(v.rps):.0f} | {(1 - ratio) * 100:.1f}% "
            f"| {cpu:.1f} | {(cpu / base_cpu - 1) * 100:.1f}% | {rounds} |"
        )
    lines.append("")
    return "\n".join(lines)


def write(name: str, table: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text(table)
    print(table)
