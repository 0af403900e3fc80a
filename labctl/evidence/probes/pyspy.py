"""CPU profiles with py-spy: sample a running process or a command, without changing it.

Usage::

    profile = record_cpu(Target(pid=1234), seconds=10, out_dir=Path("run/profiles/x"))
    profile.top[0].function      # the hottest application function
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labctl.evidence.probes.launch import run_for_window
from labctl.evidence.probes.target import (
    EXIT_PERMISSION,
    PTRACE_HINT,
    ProbeError,
    Target,
    find_tool,
)
from labctl.records.call_stacks import Stacks
from labctl.records.captures import CpuProfile, ProcessShare

# The flamegraph SVG is an artefact of the capture, as memray's HTML is of a heap capture:
# the probe writes it with the renderer, which reads records only (no cycle).
from labctl.render.flamegraph import render_svg
from labctl.render.pprof.encoding import cpu_profile

DEFAULT_RATE = 100  # py-spy's default sampling rate, per second
SPEEDSCOPE_FILE = "profile.speedscope.json"


def record_cpu(
    target: Target,
    seconds: float,
    out_dir: Path,
    rate: int = DEFAULT_RATE,
    echo: Callable[[str], None] = lambda _line: None,
    idle: bool = False,
    pprof: bool = False,
) -> CpuProfile:
    """py-spy over ``target`` for ``seconds``; ``pprof`` also writes ``profile.pb.gz``."""
    target.check()
    py_spy = find_tool("py-spy", "install it with: pip install py-spy")
    out_dir.mkdir(parents=True, exist_ok=True)
    speedscope = out_dir / SPEEDSCOPE_FILE
    cmd = [py_spy, "record", "--format", "speedscope", "--output", str(speedscope)]
    cmd += ["--rate", str(rate), "--nonblocking"]
    if idle:
        cmd.append("--idle")
    notes: list[str] = []
    tree = target.python_tree()  # read now: a worker may be gone when the capture ends
    if tree:  # a master and its workers: sample them all, report each
        cmd.append("--subprocesses")
    if target.pid is not None:
        cmd += ["--pid", str(target.pid), "--duration", str(max(1, round(seconds)))]
        echo(" ".join(cmd))
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
        returncode, said = result.returncode, result.stderr or result.stdout
    else:
        # The window is ours, not py-spy's --duration: at its end py-spy writes the profile
        # on SIGINT, and the program and its children are stopped with it.
        cmd += ["--", *target.command]
        echo(" ".join(cmd))
        run = run_for_window(cmd, seconds)
        returncode, said = run.returncode, run.stderr or run.stdout
        notes += [n for n in [run.note(seconds)] if n]
        seconds = round(run.elapsed, 2)  # the window a program that exited sooner had
        if run.stopped and speedscope.exists():
            returncode = 0  # the program's KeyboardInterrupt is how the window ends
    if returncode != 0 or not speedscope.exists():
        message = said.strip().splitlines()
        last = message[-1] if message else f"exit code {returncode}"
        if "ermission" in last or "ptrace" in last.lower():
            raise ProbeError(f"py-spy could not attach: {last}; {PTRACE_HINT}", EXIT_PERMISSION)
        raise ProbeError(f"py-spy failed: {last}")
    doc = json.loads(speedscope.read_text())
    stacks = Stacks.from_speedscope(doc)
    svg = out_dir / "flamegraph.svg"
    svg.write_text(render_svg(stacks, f"CPU: {target.describe()}"))
    collapsed = out_dir / "profile.collapsed.txt"
    collapsed.write_text(stacks.collapsed())
    extra: dict[str, str] = {}
    if pprof:
        encoded = out_dir / "profile.pb.gz"
        encoded.write_bytes(cpu_profile(stacks, rate, seconds, idle=idle))
        extra["pprof"] = str(encoded)
    profile = CpuProfile(
        target=target.describe(),
        seconds=seconds,
        samples=stacks.samples,
        top=stacks.top_functions(),
        artefacts={
            "speedscope": str(speedscope),
            "flamegraph": str(svg),
            "collapsed": str(collapsed),
            **extra,
        },
        command=cmd,
        notes=notes,
        processes=_per_process(doc, stacks.samples, tree) if tree else [],
    )
    busiest = profile.busiest
    if busiest is not None:
        profile.notes.append(
            f"pid {target.pid} and its {len(tree) - 1} Python worker(s) sampled (py-spy "
            f"--subprocesses); pid {busiest.pid} carries {busiest.share_pct:.0f}% of the samples"
        )
    (out_dir / "top.json").write_text(json.dumps(profile.to_json(), indent=2))
    return profile


def _per_process(doc: dict[str, Any], total: int, commands: dict[int, str]) -> list[ProcessShare]:
    """Every process of the master's tree, with its share of the samples and its hottest
    function, busiest first (py-spy leaves out a process that was never running Python)."""
    sampled = Stacks.per_process(doc)
    rows = [
        ProcessShare(
            pid,
            commands.get(pid, "?"),
            stacks.samples,
            round(100 * stacks.samples / max(total, 1), 2),
            next(iter(stacks.top_functions(1)), None),
        )
        for pid, stacks in sampled.items()
    ]
    rows += [ProcessShare(pid, command, 0, 0.0, None) for pid, command in commands.items()
             if pid not in sampled]  # fmt: skip
    return sorted(rows, key=lambda p: (-p.samples, p.pid))
