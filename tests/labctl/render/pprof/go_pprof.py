"""``go tool pprof``, the format's own reader (Debian's golang-go), as the tests' decoder of
the pprof files labctl writes: an independent check, not our encoder read back by itself."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TOTAL = re.compile(r"of (\d+)B? total")


@dataclass(frozen=True)
class GoTop:
    total: int  # in the sample type's unit (bytes as B, counts as they are)
    rows: list[tuple[int, str]]  # flat value and function name, most flat first
    raw: str  # what go tool pprof printed, for assertion messages


def go_pprof(*args: str) -> str:
    go = shutil.which("go")
    assert go, "go is missing: apt-get install golang-go (make system-deps installs it)"
    result = subprocess.run([go, "tool", "pprof", *args], capture_output=True, text=True,
                            timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def top(path: Path, sample_index: str) -> GoTop:
    """``go tool pprof -top`` over every node (none dropped), values in whole units."""
    printed = go_pprof(f"-sample_index={sample_index}", "-unit=B", "-nodefraction=0",
                       "-nodecount=1000", "-top", str(path))  # fmt: skip
    found = TOTAL.search(printed)
    assert found, printed
    lines = printed.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["flat", "flat%"])
    rows = []
    for line in lines[header + 1 :]:
        flat, _flat_pct, _sum_pct, _cum, _cum_pct, name = line.split(maxsplit=5)
        rows.append((int(flat.rstrip("B")), name))
    return GoTop(int(found.group(1)), rows, printed)
