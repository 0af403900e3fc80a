"""What a profiler captured, as records: a CPU profile (py-spy), the heap growth of a window
(memray, or the patient's tracemalloc), the line costs of a run (Scalene).

The drivers in :mod:`labctl.evidence.probes` fill them; ``render.tables`` draws them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labctl.records.call_stacks import FunctionShare, Stacks
from labctl.records.location import Location


@dataclass(frozen=True)
class ProcessShare:
    """One process of a capture that sampled a master and its workers."""

    pid: int
    command: str
    samples: int
    share_pct: float  # of all the capture's samples
    top: FunctionShare | None  # its hottest function, by its own samples

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "command": self.command, "samples": self.samples,
                "share_pct": self.share_pct,
                "top": self.top.to_json() if self.top else None}  # fmt: skip


@dataclass
class CpuProfile:
    target: str
    seconds: float
    samples: int
    top: list[FunctionShare]
    artefacts: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # With workers sampled too: each process that was sampled, the busiest first.
    processes: list[ProcessShare] = field(default_factory=list)

    @property
    def busiest(self) -> ProcessShare | None:
        """The process carrying most samples, when a master and its workers were sampled."""
        return self.processes[0] if self.processes and self.processes[0].samples else None

    def stacks(self) -> Stacks:
        """The sampled stacks behind the table, read back from the speedscope file: for
        ``Stacks.callers`` (who calls a function) and other questions the table cannot answer."""
        return Stacks.from_speedscope(json.loads(Path(self.artefacts["speedscope"]).read_text()))

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "seconds": self.seconds,
            "samples": self.samples,
            "top": [f.to_json() for f in self.top],
            "artefacts": self.artefacts,
            "command": self.command,
            "notes": self.notes,
            "processes": [p.to_json() for p in self.processes],
        }


@dataclass(frozen=True)
class GrowthSite:
    """Memory allocated at ``location`` during a window and still alive at its end."""

    location: Location
    bytes: int
    count: int

    def to_json(self) -> dict[str, Any]:
        return {**self.location.to_json(), "bytes": self.bytes, "count": self.count}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> GrowthSite:
        return cls(Location.from_json(body), int(body["bytes"]), int(body["count"]))


@dataclass(frozen=True)
class ProcessGrowth:
    """One process of a master's tree in a heap capture: what it kept, or why it was not
    watched (memray attach needs a process that runs Python code)."""

    pid: int
    command: str
    bytes: int
    top: GrowthSite | None
    watched: bool
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "command": self.command, "bytes": self.bytes,
                "top": self.top.to_json() if self.top else None, "watched": self.watched,
                "reason": self.reason}  # fmt: skip


@dataclass
class HeapReport:
    target: str
    seconds: float
    source: str  # "memray attach", "memray run" or "tracemalloc (debug surface)"
    growth: list[GrowthSite]
    artefacts: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A master and its workers: each process, the one that kept most first.
    processes: list[ProcessGrowth] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(g.bytes for g in self.growth)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "seconds": self.seconds,
            "source": self.source,
            "growth": [g.to_json() for g in self.growth],
            "artefacts": self.artefacts,
            "command": self.command,
            "notes": self.notes,
            "processes": [p.to_json() for p in self.processes],
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> HeapReport:
        """A report saved as ``growth.json`` read back (for ``labctl profile diff``)."""
        return cls(
            target=str(body["target"]),
            seconds=float(body["seconds"]),
            source=str(body["source"]),
            growth=[GrowthSite.from_json(g) for g in body["growth"]],
            artefacts=dict(body.get("artefacts", {})),
            command=list(body.get("command", [])),
            notes=list(body.get("notes", [])),
        )


MIN_CPU_PCT = 0.5
MIN_MALLOC_MB = 0.1


@dataclass(frozen=True)
class LineCost:
    location: Location  # function: the enclosing one's qualname, "<module>" at top level
    source: str
    cpu_pct: float  # share of the run's CPU time, Python and native together
    python_pct: float  # the part of cpu_pct spent running Python bytecode
    malloc_mb: float  # allocated on this line over the run
    peak_mb: float

    def to_json(self) -> dict[str, Any]:
        return {
            **self.location.to_json(),
            "source": self.source,
            "cpu_pct": self.cpu_pct,
            "python_pct": self.python_pct,
            "malloc_mb": self.malloc_mb,
            "peak_mb": self.peak_mb,
        }


@dataclass
class ScaleneProfile:
    command: list[str]
    seconds: float
    max_footprint_mb: float
    lines: list[LineCost]
    artefacts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

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
            "notes": self.notes,
        }
