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
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labctl.probes.target import ProbeError, find_tool
from labctl.sources import function_at

MIN_CPU_PCT = 0.5
MIN_MALLOC_MB = 0.1


@dataclass(frozen=True)
class LineCost:
    function: str  # qualname of the enclosing function, "<module>" at top level
    file: str
    line: int
    source: str
    cpu_pct: float  # share of the run's CPU time, Python and native together
    python_pct: float  # the part of cpu_pct spent running Python bytecode
    malloc_mb: float  # allocated on this line over the run
    peak_mb: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ScaleneProfile:
    command: list[str]
    seconds: float
    max_footprint_mb: float
    lines: list[LineCost]
    artefacts: dict[str, str] = field(default_factory=dict)

    def top_cpu(self, n: int = 10) -> list[LineCost]:
        hot = [c for c in self.lines if c.cpu_pct >= MIN_CPU_PCT]
        return sorted(hot, key=lambda c: -c.cpu_pct)[:n]

    def top_memory(self, n: int = 10) -> list[LineCost]:
        heavy = [c for c in self.lines if c.malloc_mb >= MIN_MALLOC_MB]
        return sorted(heavy, key=lambda c: -c.malloc_mb)[:n]

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "seconds": self.seconds,
            "max_footprint_mb": self.max_footprint_mb,
            "cpu": [c.to_json() for c in self.top_cpu()],
            "memory": [c.to_json() for c in self.top_memory()],
            "artefacts": self.artefacts,
        }


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
                    function=function_at(path, lineno) or "<module>",
                    file=path,
                    line=lineno,
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
    timeout_seconds: float = 3600,
) -> ScaleneProfile:
    script, args = script_and_args(command)
    scalene = find_tool("scalene", "install it with: pip install scalene")
    out_dir.mkdir(parents=True, exist_ok=True)
    outfile = out_dir / "scalene.json"
    cmd = [scalene, "run", "-o", str(outfile), script]
    if args:
        cmd += ["---", *args]
    echo(" ".join(cmd))
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        raise ProbeError(f"scalene did not finish within {timeout_seconds:g} s") from None
    if result.returncode != 0 or not outfile.exists():
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise ProbeError(f"scalene failed: {lines[-1] if lines else result.returncode}")
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
    )
