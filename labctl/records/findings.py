"""What ``diagnose`` concludes: ranked findings, each naming a place in the code.

Scores are in [0, 1]: how far the symptom is from a healthy process, so kinds compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labctl.records.location import UNKNOWN, Location


@dataclass(frozen=True)
class Finding:
    kind: str  # cpu, memory, tasks, gc, loop, fds, cardinality
    location: Location  # UNKNOWN when the evidence names no place
    evidence: str
    score: float

    @classmethod
    def at(cls, kind: str, location: Location | None, evidence: str, score: float) -> Finding:
        """The one way a finding is made: an unknown place is ``?``, scores are rounded."""
        return cls(kind, location or UNKNOWN, evidence, round(score, 3))

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.location.to_json(), "evidence": self.evidence,
                "score": self.score}  # fmt: skip


@dataclass
class Diagnosis:
    pid: int
    seconds: float
    findings: list[Finding]
    artefacts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "seconds": self.seconds,
            "findings": [f.to_json() for f in self.findings],
            "artefacts": self.artefacts,
            "notes": self.notes,
            "elapsed_seconds": round(self.elapsed_seconds, 2),
        }
