"""What each profiler costs the live service: redirect throughput with a profiler attached for
the whole measurement, against the same service with none, side by side in one run.

The profilers' own processes (py-spy, memray's client) are pinned to CPU 1 with wrk, so CPU 0,
where the services run, carries only what the profiler makes the target do: pauses for
py-spy's default mode, allocation hooks for memray and tracemalloc, a sampling thread that
takes the GIL for the in-process sampler.

Run: ``make bench``. Writes ``bench/results/profiler_overhead.md``.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.abtest import Attach, Variant, parse_args, render, run, write, wrk
from labctl.evidence.probes.heap import attach_methods

PIN_TOOL = ["taskset", "-c", "1"] if shutil.which("taskset") else []
# The published figures we compare against, with their sources (a table in Markdown).
PUBLISHED = Path(__file__).with_name("published_profiler_costs.md")


def _debug(variant: Variant) -> tuple[str, dict[str, str]]:
    assert variant.record is not None and variant.run_dir is not None
    token = (variant.run_dir / "debug.token").read_text().strip()
    base = variant.record.urls["debug"].rstrip("/")
    return base, {"Authorization": f"Bearer {token}"}


def py_spy(extra: list[str]) -> Attach:
    @contextlib.contextmanager
    def attach(variant: Variant, seconds: float) -> Iterator[None]:
        assert variant.record is not None
        tool = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
        cmd = [*PIN_TOOL, tool, "record", "--pid", str(variant.record.pid), "--rate", "100",
               "--duration", str(int(seconds)), "--format", "raw", "--output", "/dev/null",
               *extra]  # fmt: skip
        print("  $ " + " ".join(cmd), flush=True)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    return attach


@contextlib.contextmanager
def memray_attach(variant: Variant, seconds: float) -> Iterator[None]:
    assert variant.record is not None
    methods = attach_methods()
    if not methods:
        raise SystemExit("bench: memray attach needs lldb or gdb; apt-get install lldb")
    tool = shutil.which("memray", path=str(Path(sys.executable).parent)) or "memray"
    with tempfile.TemporaryDirectory(prefix="bench-memray-") as tmp:
        cmd = [*PIN_TOOL, tool, "attach", "--method", methods[0], "--force",
               "--output", f"{tmp}/capture.bin", "--duration", str(int(seconds)),
               str(variant.record.pid)]  # fmt: skip
        print("  $ " + " ".join(cmd), flush=True)
        # memray injects while the target runs Python code: keep it busy meanwhile.
        busy = threading.Thread(target=wrk, args=(variant.url, 15, 8))
        busy.start()
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        finally:
            busy.join()
        yield  # the target writes the capture until --duration ends or it exits


@contextlib.contextmanager
def in_process_sampler(variant: Variant, seconds: float) -> Iterator[None]:
    base, headers = _debug(variant)
    stop = threading.Event()

    def sample() -> None:
        with httpx.Client(headers=headers, timeout=120) as client:
            while not stop.is_set():
                client.get(f"{base}/profile", params={"seconds": 30, "hz": 100, "limit": 1})

    print(f"  $ GET {base}/profile?seconds=30&hz=100 (repeated)", flush=True)
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()  # the last window ends within 30 s; the service stops before that


@contextlib.contextmanager
def tracemalloc_on(variant: Variant, seconds: float) -> Iterator[None]:
    base, headers = _debug(variant)
    print(f"  $ POST {base}/heap/start?frames=1", flush=True)
    httpx.post(f"{base}/heap/start", params={"frames": 1}, headers=headers).raise_for_status()
    yield


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, "profiler overhead")
    variants = [
        Variant("py-spy record, default mode (pauses the target per sample), 100 Hz", [],
                attach=py_spy([])),
        Variant("py-spy record --nonblocking, 100 Hz", [], attach=py_spy(["--nonblocking"])),
        Variant("memray attach (Python allocations, live)", [], attach=memray_attach),
        Variant("in-process sampler (/debug/profile), 100 Hz", [], attach=in_process_sampler),
        Variant("tracemalloc on, 1 frame (/debug/heap/start)", [], attach=tracemalloc_on),
        Variant("no profiler: baseline", []),
    ]  # fmt: skip
    run(variants, args)
    write(
        "profiler_overhead.md",
        render(
            "Redirect throughput with a profiler attached vs none",
            "know the price of each tool before using it on a live service (no target; "
            "the table is the answer).",
            variants,
            args,
        )
        + "\n"
        + PUBLISHED.read_text(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
