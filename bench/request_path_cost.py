"""What the request telemetry and tracing add to a redirect, in CPU microseconds, with every
variant served by one process: the steady companion of ``bench/instrumentation_overhead.py``.

Two processes of the same variant differ by up to 10% in speed here (memory layout, hash
seeds), more than the effect being measured; so this bench runs every variant as its own
uvicorn server (the service's own app, ``create_app``, and the CLI's uvicorn settings) on its
own port inside one process, on one event loop. ``wrk`` drives one server at a time, in
rotating rounds; the process's CPU time over the requests wrk counted is that variant's cost
per request, server included. A variant's cost is the median over rounds of its ratio to the
bare server's in the same round, so drift over the run cancels; a second bare server (A/A)
shows how far two identical servers read apart.
The service's other loops (click flush, loop-lag probe, config watch, scheduler) run once per
variant, so every variant pays for every other's idle loops alike.

Run: ``make bench``. Writes ``bench/results/request_path_cost.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import uvicorn
from prometheus_client import CollectorRegistry

from bench.abtest import NO_LIMIT, cpu_seconds, write, wrk
from bench.variants import WITH_NOISE_FLOOR
from labctl.stack.ports import free_port
from leaky_app.app import create_app
from leaky_app.cli import uvicorn_config
from leaky_app.logs import configure_logging
from leaky_app.settings import Settings


@dataclass
class Case:
    name: str
    settings: Mapping[str, Any]  # Settings fields, validated by Settings itself
    flags: Mapping[str, object]
    cpu_us: list[float] = field(default_factory=list)


CASES = [Case(v.name, v.settings, v.flags) for v in WITH_NOISE_FLOOR]


def settings_for(case: Case, run_dir: Path) -> Settings:
    run_dir.mkdir(parents=True)
    flags = run_dir / "flags.json"
    flags.write_text(json.dumps({**NO_LIMIT, **case.flags}))
    return Settings(
        _env_file=None,
        host="127.0.0.1",
        port=free_port(),
        db=run_dir / "links.db",
        flags_file=flags,
        metrics_port=0,
        stream_port=0,
        debug_enabled=False,
        gc_freeze_at_startup=False,  # frozen once, when every variant has started
        notify_enabled=False,
        **case.settings,
    )


def serve(case: Case, run_dir: Path) -> uvicorn.Server:
    settings = settings_for(case, run_dir)
    return uvicorn.Server(uvicorn_config(create_app(settings, CollectorRegistry()), settings))


def start_servers(run_dir: Path, cases: list[Case] = CASES) -> list[str]:
    """Every case's server on one loop in a daemon thread (it ends with the process); returns
    each case's redirect URL."""
    loop = asyncio.new_event_loop()
    servers = [serve(case, run_dir / str(i)) for i, case in enumerate(cases)]

    async def main() -> None:
        await asyncio.gather(*(server.serve() for server in servers))

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not all(server.started for server in servers):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the variants' servers did not start")
        time.sleep(0.1)
    urls = []
    for server in servers:
        base = f"http://127.0.0.1:{server.config.port}"
        created = httpx.post(f"{base}/api/v1/links", json={"url": "https://e.org/b"})
        urls.append(f"{base}/{created.json()['code']}")
    return urls


def measure(
    cases: list[Case], urls: list[str], rounds: int, seconds: int, connections: int
) -> None:
    """Rounds of wrk on each case's URL in rotating order; each case's CPU µs per request."""
    time.sleep(1.5)  # the flags files apply
    # What the service does at start-up (gc_freeze_at_startup), for all of them at once:
    # full collections then walk only what requests leave, not five apps' imports.
    gc.collect()
    gc.freeze()
    for url in urls:
        wrk(url, 2, connections)  # warm-up
    me = psutil.Process()
    for round_no in range(rounds):
        shift = round_no % len(cases)
        order = list(zip(cases, urls, strict=True))
        for case, url in order[shift:] + order[:shift]:
            before = cpu_seconds(me)
            result = wrk(url, seconds, connections)
            case.cpu_us.append((cpu_seconds(me) - before) / result.requests * 1e6)
            print(f"  round {round_no + 1}: {case.name[:48]:<48} {case.cpu_us[-1]:7.1f} µs")


def cost_rows(cases: list[Case]) -> list[str]:
    """A table row per case: its median, and its cost over the first case round by round."""
    rows = []
    base = cases[0].cpu_us
    for case in cases:
        ratios = [mine / bare - 1 for mine, bare in zip(case.cpu_us, base, strict=True)]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        rows.append(
            f"| {case.name} | {statistics.median(case.cpu_us):.1f} | "
            f"{statistics.median(ratios) * 100:+.1f}% | {q1 * 100:+.1f}% to {q3 * 100:+.1f}% |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="request path cost of the instrumentation")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=1)  # short rounds: drift hits all alike
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {0})  # this process on CPU 0, wrk on CPU 1
    # The access log goes where the service's goes, formatted the same, but to /dev/null.
    configure_logging("INFO", open(os.devnull, "w"))  # noqa: SIM115 - lives as long as we do
    with tempfile.TemporaryDirectory(prefix="bench-path-") as tmp:
        measure(CASES, start_servers(Path(tmp)), args.rounds, args.seconds, args.connections)
    lines = [
        "# Request path cost of the instrumentation (one process, every variant)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}: "
        "each variant a uvicorn server of the real app in one process, "
        f"`wrk -t1 -c{args.connections} -d{args.seconds}s` on the cache-hit redirect of one "
        f"at a time, {args.rounds} rounds in rotating order; the process's CPU time per "
        "request. Cost: the median over rounds of a variant's CPU per request over the bare "
        "server's in the same round, with the rounds' p25-p75 of that ratio. "
        "The process on CPU 0, wrk on CPU 1.",
        "Goal (issue 2): request id, RED metrics and access log (the telemetry row) cost under "
        "5% of a request; the defaults add 1% tracing.",
        "",
        "| variant | CPU µs/request (median) | cost | rounds p25-p75 |",
        "|---|---:|---:|---|",
    ]
    lines += cost_rows(CASES)
    lines.append("")
    write("request_path_cost.md", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
