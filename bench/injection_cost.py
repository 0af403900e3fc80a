"""What ``--inject`` costs a target: redirect throughput of the lab's service while labctl's
window is injected into it back to back (1 s windows, lldb attaching for each), against the
same service untouched, side by side in one run; every injection and every failed request
counted. Then how long one task census holds a target's main thread, by its live tasks.

The service is multi-threaded (metrics thread, debug surface, watchdogs) and under wrk's
load the whole time: the safety claim is the error counts, the cost claim the ratio.
Run: ``make bench``. Writes ``bench/results/injection_cost.md``.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from bench.abtest import Variant, parse_args, render, run, write
from labctl.evidence.probes.injection import inject_window
from labctl.evidence.probes.target import ProbeError

# A target whose thread notes every gap in its 1 ms sleeps: while lldb holds the process
# stopped, nothing runs, and the gap is the stop.
GAPS = """
import threading, time
def watch():
    last = time.monotonic()
    while True:
        time.sleep(0.001)
        now = time.monotonic()
        if now - last > 0.05:
            print(round(now - last, 4), flush=True)
        last = now
threading.Thread(target=watch, daemon=True).start()
print("ready", flush=True)
while True:
    time.sleep(0.01)
"""
PARKED = """
import asyncio, os, sys
async def parked():
    await asyncio.Event().wait()
async def main(n):
    keep = [asyncio.create_task(parked()) for _ in range(n)]
    print("ready", flush=True)
    while True:
        await asyncio.sleep(0.01)
asyncio.run(main(int(sys.argv[1])))
"""


@dataclass
class Injections:
    done: int = 0
    failed: list[str] = field(default_factory=list)
    unhealthy: int = 0  # /livez answers other than 200 right after a window
    attach_seconds: list[float] = field(default_factory=list)
    census_seconds: list[float] = field(default_factory=list)
    threads_left: int = 0
    same_process_at_end: bool = False


INJECTIONS = Injections()


@contextlib.contextmanager
def injected_back_to_back(variant: Variant, seconds: float) -> Iterator[None]:
    assert variant.record is not None
    pid, stop = variant.record.pid, threading.Event()
    born = psutil.Process(pid).create_time()
    livez = variant.url.rsplit("/", 1)[0] + "/livez"

    def inject() -> None:
        with tempfile.TemporaryDirectory(prefix="bench-inject-") as tmp:
            while not stop.is_set():
                try:
                    window = inject_window(pid, 1, Path(tmp), echo=lambda _: None)
                except ProbeError as exc:
                    INJECTIONS.failed.append(str(exc))
                    continue
                INJECTIONS.done += 1
                INJECTIONS.attach_seconds.append(window.attach_seconds)
                INJECTIONS.census_seconds.extend(window.census_seconds)
                INJECTIONS.threads_left += window.leftovers["threads"]
                INJECTIONS.unhealthy += httpx.get(livez, timeout=10).status_code != 200

    print(f"  $ labctl profile tasks --pid {pid} --inject --seconds 1 (back to back)", flush=True)
    thread = threading.Thread(target=inject, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
        with contextlib.suppress(psutil.Error):
            INJECTIONS.same_process_at_end = psutil.Process(pid).create_time() == born


@contextlib.contextmanager
def ready_script(code: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``python -c code args`` once it prints "ready", killed by its PID when the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def census_by_size(sizes: list[int]) -> list[tuple[int, float, float]]:
    """(live tasks, census ms at the window's start, at its end) for a target with that
    many parked tasks."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-census-") as tmp:
        for n in sizes:
            with ready_script(PARKED, str(n)) as proc:
                window = inject_window(proc.pid, 1, Path(tmp) / str(n), echo=lambda _: None)
                first, last = window.census_seconds
                rows.append((window.tasks[1].count, first * 1000, last * 1000))
    return rows


def stop_per_injection(count: int) -> list[float]:
    """The longest gap a target's thread saw around each of ``count`` injections."""
    stops = []
    with tempfile.TemporaryDirectory(prefix="bench-stop-") as tmp, ready_script(GAPS) as proc:
        assert proc.stdout is not None
        for n in range(count):
            inject_window(proc.pid, 1, Path(tmp) / str(n), echo=lambda _: None)
            stops.append(float(proc.stdout.readline()))
    return stops


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, "injection cost", rounds=6, seconds=4)
    variants = [
        Variant("window injected back to back (1 s each)", [], attach=injected_back_to_back),
        Variant("no injection: baseline", []),
    ]
    started = time.monotonic()
    run(variants, args)
    measured = time.monotonic() - started
    i = INJECTIONS
    stops = stop_per_injection(5)
    sizes = census_by_size([1_000, 10_000, 100_000])
    attach = statistics.median(i.attach_seconds) if i.attach_seconds else float("nan")
    census = statistics.median(i.census_seconds) * 1000 if i.census_seconds else float("nan")
    table = render(
        "Redirect throughput with labctl's window injected back to back vs none",
        "injecting never crashes the service nor fails a request; the cost while a window "
        "is open is reported, not bounded.",
        variants,
        args,
    )
    table += "\n".join([
        "",
        f"Over {measured:.0f} s under wrk: {i.done} windows injected, "
        f"{len(i.failed)} injections failed{': ' + i.failed[0] if i.failed else ''}; "
        f"requests that failed while injected: {variants[0].errors} (baseline "
        f"{variants[1].errors}); /livez not 200 after a window: {i.unhealthy}; threads left "
        f"behind: {i.threads_left}; the same service process "
        f"{'was still running' if i.same_process_at_end else 'was GONE'} at the end.",
        "",
        f"lldb's attach, write and detach took a median {attach:.2f} s. The target is stopped "
        f"while lldb is attached: a thread of a target saw gaps of "
        f"{', '.join(f'{s:.2f}' for s in stops)} s around five injections. Above, a window "
        f"was queued every {measured / max(1, i.done):.1f} s, so the stop explains about "
        f"{statistics.median(stops) * i.done / measured:.0%} of the time; lldb's own CPU (it "
        "shares the two cores with wrk and the service) is the likely rest, not measured "
        "apart. diagnose --inject queues one window. One task "
        f"census of the service's own tasks held its main thread for a median {census:.2f} ms.",
        "",
        "| live tasks in the target | census at the window's start (ms) | at its end (ms) |",
        "|---:|---:|---:|",
        *(f"| {n} | {a:.1f} | {b:.1f} |" for n, a, b in sizes),
        "",
    ])  # fmt: skip
    write("injection_cost.md", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
