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
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from labctl.ports import free_port
from labctl.processes import ProcessRecord, stop
from labctl.stack import ServicePorts, start_service

RESULTS = Path(__file__).parent / "results"
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")


@dataclass
class Variant:
    name: str
    args: list[str]
    record: ProcessRecord | None = None
    url: str = ""
    rps: list[float] | None = None


def wrk(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url],
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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench: wrk is missing; install it with: apt-get install wrk", file=sys.stderr)
        return 2
    variants = [
        Variant("instrumented (request id + RED metrics + JSON access log)", []),
        Variant(
            "bare (--no-instrumented --no-access-log)", ["--no-instrumented", "--no-access-log"]
        ),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        try:
            for i, variant in enumerate(variants):
                run_dir = Path(tmp) / str(i)
                ports = ServicePorts(http=free_port(), metrics=free_port())
                print(f"+ leaky-app {' '.join(variant.args)} on :{ports.http}", flush=True)
                variant.record = start_service(run_dir, ports, extra_args=variant.args)
                base = f"http://127.0.0.1:{ports.http}"
                code = httpx.post(
                    f"{base}/api/v1/links", json={"url": "https://example.org/bench"}
                ).json()["code"]
                # Raise the rate limit out of the way: we measure the stack, not the limiter.
                (run_dir / "flags.json").write_text('{"rate_limit": {"enabled": false}}')
                variant.url = f"{base}/{code}"
                variant.rps = []
            for variant in variants:
                wrk(variant.url, 2, args.connections)  # warm-up
            for round_no in range(args.rounds):
                order = variants if round_no % 2 == 0 else list(reversed(variants))
                for variant in order:
                    assert variant.rps is not None
                    rps = wrk(variant.url, args.seconds, args.connections)
                    variant.rps.append(rps)
                    print(f"  round {round_no + 1}: {variant.name[:12]:<12} {rps:8.0f} req/s")
        finally:
            for variant in variants:
                if variant.record is not None:
                    stop(variant.record)
    on, off = (statistics.median(v.rps or [0.0]) for v in variants)
    cost = (1 - on / off) * 100 if off else float("nan")
    table = render(variants, on, off, cost, args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "instrumentation_overhead.md").write_text(table)
    print(table)
    return 0


def render(variants: list[Variant], on: float, off: float, cost: float, args: object) -> str:
    lines = [
        "# Redirect throughput: instrumentation on vs off",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {sys.platform}, Python "
        f"{sys.version.split()[0]}, one uvicorn worker per variant, wrk -t1 {args!r}.",
        "Alternating rounds in one run; medians. Goal: instrumentation costs under 5%.",
        "",
        "| variant | median req/s | rounds (req/s) |",
        "|---|---:|---|",
    ]
    for v in variants:
        rounds = ", ".join(f"{r:.0f}" for r in v.rps or [])
        lines.append(f"| {v.name} | {statistics.median(v.rps or [0.0]):.0f} | {rounds} |")
    lines += ["", f"**Throughput ratio on/off: {on / off:.3f} (cost {cost:.1f}%)**", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
