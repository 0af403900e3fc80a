"""Memory per idle websocket connection on ``/ws/clicks`` at 1,000 and 10,000 loopback
connections (seed Q375's C10K question), beside the figures others publish.

Each variant is a fresh service. A helper process (``labctl.ws_crowd``) opens N idle
connections; the service's resident memory (RSS) and unique memory (USS) are read before
and once the service counts N subscribers; the difference over N is the cost of one idle
connection: socket, transport, websocket protocol state, the ASGI task and the stream's
reader and pump tasks, the subscriber and its queue.

Run: ``make bench``. Writes ``bench/results/websockets_memory.md``.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

from bench.abtest import write
from labctl.contract import RunLayout
from labctl.records.scrape import Scrape
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import stop
from labctl.stack.service import start_service
from labctl.stack.ws_crowd import command

GOAL_KIB = 10.0
BREAKDOWN = ("stream port", "API port")
CLIENTS = "leaky_app_ws_clients"


@dataclass(frozen=True)
class Setup:
    name: str
    args: list[str]
    stream_port: bool = False  # the lean listener (leaky_app.stream_server), not the API port


def ws_url(ports: ServicePorts, stream_port: bool) -> str:
    # One link's stream: anyone may open it (every link's needs the observer token, and one
    # setup runs without the debug surface that holds it); the bench lifts the per-address cap.
    port = ports.stream if stream_port else ports.http
    return f"ws://127.0.0.1:{port}/ws/clicks?code=bench-idle"


def caps(n: int) -> list[str]:
    return ["--ws-max-clients", str(n + 100), "--ws-max-per-client", str(n + 100)]


@dataclass(frozen=True)
class Row:
    setup: str
    connections: int
    rss_kib: float
    uss_kib: float


_PACKAGE = re.compile(r"site-packages/([A-Za-z0-9_]+)/|/(leaky_app)/")


def owner(traceback: list[str]) -> str:
    """Who asked for an allocation: the innermost frame outside the standard library (an
    ``asyncio.Queue`` that uvicorn creates is uvicorn's)."""
    for frame in traceback:  # innermost first
        match = _PACKAGE.search(frame)
        if match:
            return match.group(1) or match.group(2)
    return "standard library"


def heap_by_owner(debug_url: str, token: str, seconds: float) -> dict[str, int]:
    """Bytes still allocated at the end of a tracemalloc window, by owner (debug surface)."""
    response = httpx.get(
        f"{debug_url}/debug/heap",
        params={"seconds": seconds, "limit": 1000},
        headers={"Authorization": f"Bearer {token}"},
        timeout=seconds + 120,
    )
    response.raise_for_status()
    totals: dict[str, int] = {}
    for stat in response.json()["growth"]:
        who = owner(stat["traceback"])
        totals[who] = totals.get(who, 0) + int(stat["size_diff_bytes"])
    return totals


def breakdown(n: int, stream_port: bool, seconds: float = 40.0) -> dict[str, int]:
    """Where one idle connection's Python heap goes: a tracemalloc window over opening ``n``
    connections on a default service (the window's own tracing costs are not in RSS rows)."""
    with tempfile.TemporaryDirectory(prefix="bench-ws-heap-") as tmp:
        ports = ServicePorts.free()
        record = start_service(
            RunLayout(Path(tmp)),
            ports,
            extra_args=[*caps(n), "--no-notify-enabled"],
        )
        try:
            token = (Path(tmp) / "debug.token").read_text().strip()
            url = ws_url(ports, stream_port)
            run_clients(url, 50, lambda: None)
            result: dict[str, int] = {}
            window = threading.Thread(
                target=lambda: result.update(
                    heap_by_owner(f"http://127.0.0.1:{ports.debug}", token, seconds)
                )
            )
            window.start()
            time.sleep(2)
            run_clients(url, n, lambda: window.join(seconds + 180))
        finally:
            stop(record)
    return result


def memory(pid: int) -> tuple[int, int]:
    info = psutil.Process(pid).memory_full_info()
    return int(info.rss), int(info.uss)


def measure(setup: Setup, n: int) -> Row:
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        ports = ServicePorts.free()
        record = start_service(
            RunLayout(Path(tmp)),
            ports,
            extra_args=[*setup.args, *caps(n), "--no-notify-enabled"],
        )
        metrics = f"http://127.0.0.1:{ports.metrics}/metrics"
        url = ws_url(ports, setup.stream_port)
        try:
            # Warm up: the code paths and allocator pools a first connection creates.
            run_clients(url, 50, lambda: None)
            time.sleep(1)
            before = memory(record.pid)

            def at_peak() -> None:
                deadline = time.monotonic() + 120
                while (Scrape.parse(httpx.get(metrics, timeout=10).text).value(CLIENTS) or 0) < n:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the service never counted {n} subscribers")
                    time.sleep(0.5)
                time.sleep(2)  # let the last handshakes' garbage go
                after.append(memory(record.pid))

            after: list[tuple[int, int]] = []
            run_clients(url, n, at_peak)
        finally:
            stop(record)
    (rss0, uss0), (rss1, uss1) = before, after[0]
    return Row(setup.name, n, (rss1 - rss0) / n / 1024, (uss1 - uss0) / n / 1024)


def run_clients(url: str, n: int, while_open: Callable[[], None]) -> None:
    """Open ``n`` connections in a helper process, call ``while_open()``, close them."""
    proc = subprocess.Popen(
        [*command(url, n, reconnect=0), "--until-stdin-closes"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline().strip()
        if line != f"open {n}":
            raise RuntimeError(f"clients did not open: {line!r}")
        while_open()
        proc.stdin.close()
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="memory per idle websocket connection")
    parser.add_argument("--counts", default="1000,10000")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")]
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if max(counts) + 200 > limit:
        print(f"the open-files limit ({limit}) is below {max(counts) + 200}", file=sys.stderr)
        return 2
    setups = [
        Setup("stream port (`leaky_app.stream_server`)", [], stream_port=True),
        Setup("API port, defaults (compression off)", []),
        Setup("API port, compression on (--ws-per-message-deflate)", ["--ws-per-message-deflate"]),
        Setup("API port, debug surface off", ["--no-debug-enabled"]),
    ]
    rows = []
    for setup in setups:
        for n in counts:
            print(f"+ {setup.name}: {n} connections", flush=True)
            rows.append(measure(setup, n))
            print(f"  {rows[-1].rss_kib:.1f} KiB RSS per connection", flush=True)
    lines = [
        "# Memory per idle websocket connection (`/ws/clicks`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}, "
        "one service process; N idle loopback connections held by a helper process; the "
        "service's memory after minus before, over N. The stream port is an asyncio.Protocol "
        "on websockets' Sans-I/O ServerProtocol, no task per connection; the API port is "
        "uvicorn (websockets Sans-I/O) and FastAPI, two tasks per connection.",
        f"Goal: at most {GOAL_KIB:g} KiB per idle connection.",
        "",
        "| setup | connections | RSS KiB / connection | USS KiB / connection | goal |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        ok = "met" if r.rss_kib <= GOAL_KIB else "missed"
        lines.append(
            f"| {r.setup} | {r.connections:,} | {r.rss_kib:.1f} | {r.uss_kib:.1f} | {ok} |"
        )
    lines += [
        "",
        "Published figures, for comparison: the websockets library's documentation gives about "
        "64 KiB per connection with its default compression and 14 KiB without; the Go answer "
        "in the seed (Q375) says about 2 KB per goroutine, before buffers.",
        "",
    ]
    n = counts[0]
    owners = {listener: breakdown(n, listener == "stream port") for listener in BREAKDOWN}
    lines += [
        f"Where an idle connection's Python heap goes (tracemalloc on the debug surface, over "
        f"opening {n:,} connections with the defaults; RSS adds the allocator's own overhead "
        "and the kernel's socket buffers are outside the process), KiB per connection:",
        "",
        f"| allocated by | {' | '.join(BREAKDOWN)} |",
        f"|---|{'---:|' * len(BREAKDOWN)}",
    ]
    names = sorted({who for o in owners.values() for who in o}, key=lambda w: -max(
        owners[listener].get(w, 0) for listener in BREAKDOWN))  # fmt: skip
    for who in names:
        cells = [owners[listener].get(who, 0) / n / 1024 for listener in BREAKDOWN]
        if max(cells) >= 0.1:
            lines.append(f"| {who} | {' | '.join(f'{c:.1f}' for c in cells)} |")
    totals = [sum(owners[listener].values()) / n / 1024 for listener in BREAKDOWN]
    lines.append(f"| all | {' | '.join(f'{t:.1f}' for t in totals)} |")
    lines += [
        "",
        "An allocation belongs to the innermost frame outside the standard library: on the "
        "stream port, uvicorn's share is asyncio's transport and socket, made under the loop "
        "uvicorn runs.",
    ]
    lines.append("")
    write("websockets_memory.md", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
