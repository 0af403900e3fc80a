"""Line-level CPU and memory with Scalene: run a Python script under it, rank its lines.

Scalene separates time spent in Python from time in native code, and samples allocations
per line, so one run answers "which line burns CPU" and "which line allocates". It starts
the program itself (it cannot attach), so this probe takes a command, not a PID.

Usage::

    profile = run_scalene(("python", "job.py", "--fast"), out_dir=Path("run/profiles/x"))
    profile.top_cpu()[0].function      # the function of the hottest line
    profile.top_memory()[0].line       # the line that allocated most
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labctl.evidence.probes.launch import run_for_window
from labctl.evidence.probes.target import ProbeError, find_tool
from labctl.evidence.sources import function_at
from labctl.records.captures import LineCost, ScaleneProfile
from labctl.records.location import MODULE_LEVEL, Location


def script_and_args(command: tuple[str, ...]) -> tuple[str, list[str]]:
    """``python job.py a b`` or ``job.py a b`` -> ("job.py", ["a", "b"])."""
    args = list(command)
    if args and "python" in Path(args[0]).name and len(args) > 1:
        args = args[1:]
    if not args or not args[0].endswith(".py"):
        raise ProbeError(
            "scalene runs a Python script: give `-- python path/to/script.py` and its arguments", 2
        )
    if not Path(args[0]).is_file():
        raise ProbeError(f"no such script: {args[0]}", 2)
    return args[0], args[1:]


def parse_profile(doc: dict[str, Any]) -> list[LineCost]:
    costs: list[LineCost] = []
    for path, data in doc.get("files", {}).items():
        for row in data.get("lines", []):
            cpu_python = float(row.get("n_cpu_percent_python", 0.0))
            cpu = cpu_python + float(row.get("n_cpu_percent_c", 0.0))
            malloc = float(row.get("n_malloc_mb", 0.0))
            if cpu <= 0 and malloc <= 0:
                continue
            lineno = int(row["lineno"])
            costs.append(
                LineCost(
                    location=Location(function_at(path, lineno) or MODULE_LEVEL, path, lineno),
                    source=str(row.get("line", "")).strip(),
                    cpu_pct=cpu,
                    python_pct=cpu_python,
                    malloc_mb=malloc,
                    peak_mb=float(row.get("n_peak_mb", 0.0)),
                )
            )
    return costs


def run_scalene(
    command: tuple[str, ...],
    out_dir: Path,
    echo: Callable[[str], None] = lambda _line: None,
    seconds: float = 10,
) -> ScaleneProfile:
    """Scalene over ``command`` for ``seconds`` or until it exits, whichever comes first; a
    program still running then is stopped (scalene writes its profile on the SIGINT)."""
    script, args = script_and_args(command)
    scalene = find_tool("scalene", "install it with: pip install scalene")
    out_dir.mkdir(parents=True, exist_ok=True)
    outfile = out_dir / "scalene.json"
    cmd = [scalene, "run", "-o", str(outfile), script]
    if args:
        cmd += ["---", *args]
    echo(" ".join(cmd))
    run = run_for_window(cmd, seconds)
    if (run.returncode != 0 and not run.stopped) or not outfile.exists():
        lines = (run.stderr or run.stdout).strip().splitlines()
        raise ProbeError(f"scalene failed: {lines[-1] if lines else run.returncode}")
    try:
        doc = json.loads(outfile.read_text())
    except json.JSONDecodeError:
        raise ProbeError("scalene wrote no profile: did the script run any Python?") from None
    return ScaleneProfile(
        command=cmd,
        seconds=float(doc.get("elapsed_time_sec", 0.0)),
        max_footprint_mb=float(doc.get("max_footprint_mb", 0.0)),
        lines=parse_profile(doc),
        artefacts={"profile": str(outfile)},
        notes=[n for n in [run.note(seconds)] if n],
    )
