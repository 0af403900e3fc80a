"""What the reputation check adds to the redirect and to link creation (issue 19).

The same method as ``bench/request_path_cost.py``: every variant a uvicorn server of the real
app in this one process, on one loop, so process-to-process speed differences do not blur the
effect. A real reputation service (``python -m reputation``, over mTLS with the lab PKI) runs
beside it as its own process.

* Redirect: ``wrk`` on the cache-hit redirect of a link whose host was checked once, so the
  verdict cache answers; the process's CPU per request.
* Link creation: ``POST /api/v1/links`` one at a time (each asks ``CheckUrl``), in rotating
  rounds; wall time and this process's CPU per link, and the reputation service's CPU per link.

Run: ``python -m bench.reputation_cost`` (``make bench``). Writes
``bench/results/reputation_cost.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

from bench.abtest import cpu_seconds, write
from bench.request_path_cost import Case, cost_rows, measure, start_servers
from labctl.contract import RunLayout
from labctl.stack.ports import free_ports
from labctl.stack.processes import stop
from labctl.stack.reputation_service import start_reputation
from leaky_app.logs import configure_logging


def creation_round(
    base: str, links: int, me: psutil.Process, other: psutil.Process
) -> tuple[float, float, float]:
    """``links`` creations in a row: ms, this process's CPU µs, the service's CPU µs per link."""
    with httpx.Client(base_url=base, timeout=10) as client:
        started, mine, theirs = time.perf_counter(), cpu_seconds(me), cpu_seconds(other)
        for i in range(links):
            response = client.post("/api/v1/links", json={"url": f"https://docs.example.org/{i}"})
            response.raise_for_status()
        wall = time.perf_counter() - started
        return (wall / links * 1e3, (cpu_seconds(me) - mine) / links * 1e6,
                (cpu_seconds(other) - theirs) / links * 1e6)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the reputation check's cost")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seconds", type=int, default=1)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--links", type=int, default=50, help="link creations per round")
    args = parser.parse_args(argv)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {0})  # this process on CPU 0; wrk and the service on CPU 1
    configure_logging("INFO", open(os.devnull, "w"))  # noqa: SIM115 - lives as long as we do
    with tempfile.TemporaryDirectory(prefix="bench-reputation-") as tmp:
        layout = RunLayout(Path(tmp) / "run")
        print("+ python -m reputation (mTLS, the lab PKI under the bench's run folder)")
        service = start_reputation(layout, *free_ports(2))
        try:
            with contextlib.suppress(AttributeError, OSError):
                os.sched_setaffinity(service.pid, {1})
            checked = {"reputation_target": service.urls["grpc"], "reputation_pki": layout.pki}
            cases = [
                Case("reputation off: the shortener alone", {}, {}),
                Case("reputation off again (A/A: the noise floor)", {}, {}),
                Case("reputation on (--reputation-target)", checked, {}),
            ]
            urls = start_servers(Path(tmp) / "servers", cases)
            measure(cases, urls, args.rounds, args.seconds, args.connections)
            me, other = psutil.Process(), psutil.Process(service.pid)
            creations: dict[str, list[tuple[float, float, float]]] = {c.name: [] for c in cases}
            bases = [url.rsplit("/", 1)[0] for url in urls]
            for round_no in range(args.rounds):
                shift = round_no % len(cases)
                order = list(zip(cases, bases, strict=True))
                for case, base in order[shift:] + order[:shift]:
                    creations[case.name].append(creation_round(base, args.links, me, other))
                print(f"  creation round {round_no + 1} done")
        finally:
            stop(service)
    lines = [
        "# The reputation check's cost (one process, every variant)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}: "
        "each variant a uvicorn server of the real app in one process (CPU 0), the reputation "
        "service its own process (CPU 1, with wrk), over mTLS on loopback.",
        "",
        "## Redirect (the hot path): a host already checked, so the verdict cache answers",
        "",
        f"`wrk -t1 -c{args.connections} -d{args.seconds}s` on one variant at a time, "
        f"{args.rounds} rounds in rotating order; this process's CPU per request, and its cost "
        "over the first row round by round (median, p25-p75).",
        "",
        "| variant | CPU µs/request (median) | cost | rounds p25-p75 |",
        "|---|---:|---:|---|",
        *cost_rows(cases),
        "",
        "## Link creation: every new link asks CheckUrl",
        "",
        f"{args.links} `POST /api/v1/links` in a row per round, {args.rounds} rounds in "
        "rotating order; the median time per link, and CPU per link over all rounds (CPU "
        "time is counted in 10 ms clock ticks).",
        "",
        "| variant | ms per link | patient CPU µs per link | reputation service CPU µs per link |",
        "|---|---:|---:|---:|",
    ]
    for case in cases:
        rows = creations[case.name]
        wall = statistics.median(r[0] for r in rows)
        # CPU time comes in clock ticks (10 ms): averaged over every round, not a median.
        mine, theirs = (statistics.fmean(r[i] for r in rows) for i in (1, 2))
        lines.append(f"| {case.name} | {wall:.2f} | {mine:.0f} | {theirs:.0f} |")
    lines.append("")
    write("reputation_cost.md", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
