"""What the request telemetry and tracing add to a redirect, in machine instructions: the
deterministic companion of ``bench/request_path_cost.py``.

CPU time on this VM moves by ±10% from one second to the next with the neighbours' load; an
instruction count does not. Each variant is the real service (``python -m leaky_app``) run
under valgrind's callgrind with instrumentation off until it has started; then 300 warm-up
redirects, the counters zeroed, ``--requests`` redirects from 8 keep-alive connections, and
a dump: the instructions the process executed (its idle loops included) over the requests.
Two bare runs show how far a count moves between processes (hash seeds are fixed).

Instructions are not time: the telemetry's instructions cost about twice the time of the
average instruction of a request (cache and branch-predictor misses on code that runs once
per request; ``request_path_cost.md`` measures the time), so read this table for what the
code does and that one for what it costs.

Run: ``make bench`` (needs Debian's ``valgrind``). Writes
``bench/results/request_path_instructions.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.abtest import NO_LIMIT, write
from bench.variants import WITH_NOISE_FLOOR
from labctl.contract import SERVICE, RunLayout
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import spawn, stop, wait_http_ok
from labctl.stack.service import service_command

# The debug server and the mail workers off: their idle loops would count with the requests.
QUIET = ["--no-debug-enabled", "--no-notify-enabled"]
WARM_UP = 300
CONNECTIONS = 8
_TOTALS = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


@dataclass
class Case:
    name: str
    args: list[str]
    flags: Mapping[str, object]
    per_request: int = 0


def cases() -> list[Case]:
    return [Case(v.name, [*QUIET, *v.args()], v.flags) for v in WITH_NOISE_FLOOR]


def redirects(url: str, count: int) -> int:
    """About ``count`` GETs of ``url`` over CONNECTIONS keep-alive connections, each of which
    must redirect; returns how many were sent (a multiple of CONNECTIONS)."""
    each = count // CONNECTIONS

    def one_connection(n: int) -> None:
        with httpx.Client(timeout=120) as client:
            for _ in range(n):
                status = client.get(url).status_code
                if status != 302:
                    raise RuntimeError(f"{url} answered {status}, not a redirect")

    threads = [threading.Thread(target=one_connection, args=(each,)) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return each * CONNECTIONS


def callgrind_control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=60)


def measure(case: Case, run_dir: Path, requests: int) -> int:
    """Instructions per request of one variant, run under callgrind."""
    ports = ServicePorts.free()
    run_dir.mkdir(parents=True)
    (run_dir / "flags.json").write_text(json.dumps({**NO_LIMIT, **case.flags}))
    out = run_dir / "callgrind.out"
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        *service_command(ports, RunLayout(run_dir)),  # its --flags-file is run_dir/flags.json
        *case.args,
    ]
    print("+ " + " ".join(cmd), flush=True)
    record = spawn(SERVICE, cmd, run_dir / "service.log", env={**os.environ, "PYTHONHASHSEED": "0"})
    try:
        base = f"http://127.0.0.1:{ports.http}"
        wait_http_ok(f"{base}/readyz", record, timeout=300)  # slow: valgrind translates
        created = httpx.post(f"{base}/api/v1/links", json={"url": "https://e.org/b"}, timeout=60)
        url = f"{base}/{created.json()['code']}"
        pid = str(record.pid)
        callgrind_control("--instr=on", pid)
        redirects(url, WARM_UP)
        callgrind_control("--zero", pid)
        sent = redirects(url, requests)
        callgrind_control("--dump", pid)  # returns once the dump is written
        # Read before stopping: the service writes one more dump at exit, of its shutdown.
        dumps = [
            _TOTALS.search(p.read_text(errors="replace")) for p in run_dir.glob(out.name + "*")
        ]
    finally:
        stop(record)
    counted = [int(m.group(1)) for m in dumps if m is not None]
    if len(counted) != 1:
        raise RuntimeError(f"expected one callgrind dump with totals in {run_dir}: {counted}")
    return counted[0] // sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="instructions per request of the telemetry")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("bench: valgrind is missing; install it with: apt-get install valgrind")
        return 1
    all_cases = cases()
    with tempfile.TemporaryDirectory(prefix="bench-instr-") as tmp:
        for i, case in enumerate(all_cases):
            case.per_request = measure(case, Path(tmp) / str(i), args.requests)
            print(f"  {case.name[:60]:<60} {case.per_request:>10,} instructions/request")
    base = all_cases[0].per_request
    lines = [
        "# Request path cost of the instrumentation, in instructions",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}: "
        "each variant the real service under valgrind's callgrind, "
        f"{args.requests} cache-hit redirects from {CONNECTIONS} keep-alive connections after "
        f"{WARM_UP} to warm up; the instructions the process executed, per request.",
        "Goal (issue 2): request id, RED metrics and access log (the telemetry row) cost under "
        "5% of a request. Time, not "
        "instructions, is that goal's measure (`request_path_cost.md`): this table is what "
        "the code does, steady where the time is not.",
        "",
        "| variant | instructions/request | added | cost |",
        "|---|---:|---:|---:|",
    ]
    for case in all_cases:
        added = case.per_request - base
        lines.append(
            f"| {case.name} | {case.per_request:,} | {added:+,} | {added / base * 100:+.1f}% |"
        )
    lines.append("")
    write("request_path_instructions.md", "\n".join(lines))
    print("next: read bench/results/request_path_instructions.md beside request_path_cost.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
