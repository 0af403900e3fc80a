"""The patient's fault catalogue as it reports it, with what is on (hidden in a drill)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Fault:
    id: str
    summary: str
    culprit: str  # "module:qualname": the answer key of labs and drills
    intensities: list[str]
    symptoms: list[str]
    tools: list[str]
    cap: str
    workload: str  # what the intensity changes
    active: str | None  # the intensity when on


@dataclass(frozen=True)
class FaultBoard:
    catalogue: list[Fault]
    drill: bool

    @property
    def active(self) -> dict[str, str]:
        return {f.id: f.active for f in self.catalogue if f.active}

    def to_json(self) -> list[dict[str, Any]]:
        """In a drill, what is on stays hidden: finding it is the exercise."""
        return [{**asdict(f), "active": "hidden" if self.drill else f.active}
                for f in self.catalogue]  # fmt: skip

    def listing(self) -> list[dict[str, Any]]:
        """What ``labctl fault list`` shows: :meth:`to_json` without the culprits, which are
        every lab's and drill's answer key."""
        return [{k: v for k, v in fault.items() if k != "culprit"} for fault in self.to_json()]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultBoard:
        """From ``GET /admin/faults``."""
        active: dict[str, str] = body["active"]
        return cls(
            catalogue=[
                Fault(
                    id=spec["id"],
                    summary=spec["summary"],
                    culprit=spec["culprit"],
                    intensities=spec["intensities"],
                    symptoms=spec["symptoms"],
                    tools=spec["tools"],
                    cap=spec["cap"],
                    workload=spec.get("workload", ""),  # a patient older than the field
                    active=active.get(spec["id"]),
                )
                for spec in body["catalogue"]
            ],
            drill=body["drill"],
        )
