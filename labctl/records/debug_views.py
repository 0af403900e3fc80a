"""Typed records of the patient's debug views (tasks, gc, loop, objects).

:class:`labctl.evidence.patient.Patient` fills them from ``/debug/*``; the CLI, notebooks and
``diagnose`` read them. Each ``from_json`` takes the endpoint's body as documented in
``/debug/``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from labctl.records.location import Location


@dataclass(frozen=True)
class TaskGroup:
    site: Location
    count: int
    oldest_age_seconds: float


@dataclass(frozen=True)
class TaskCensus:
    count: int
    sites_recorded: bool
    groups: list[TaskGroup]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> TaskCensus:
        return cls(
            count=int(body["count"]),
            sites_recorded=bool(body["creation_sites_recorded"]),
            groups=[
                TaskGroup(
                    Location.parse(g["site"]), int(g["count"]), float(g["oldest_age_seconds"])
                )
                for g in body.get("groups", [])
            ],
        )

    def by_site(self) -> dict[Location, int]:
        return {g.site: g.count for g in self.groups}

    def to_json(self) -> dict[str, Any]:
        """The debug view's own shape (``/debug/tasks?group=site``): what :meth:`from_json`
        reads, so a saved census reads back."""
        return {
            "count": self.count,
            "creation_sites_recorded": self.sites_recorded,
            "groups": [{"site": str(g.site), "count": g.count,
                        "oldest_age_seconds": g.oldest_age_seconds} for g in self.groups],
        }  # fmt: skip


@dataclass(frozen=True)
class GenerationPauses:
    generation: int
    count: int
    total_seconds: float
    max_seconds: float
    p50_seconds: float | None
    p99_seconds: float | None
    buckets: dict[str, int]


@dataclass(frozen=True)
class GcTrigger:
    site: Location
    collections: int
    pause_seconds: float


@dataclass(frozen=True)
class GcReport:
    enabled: bool
    threshold: tuple[int, int, int]
    frozen_objects: int
    garbage: int
    pauses: list[GenerationPauses]
    triggers: list[GcTrigger]
    # Live memory by allocator (pymalloc blocks, malloc bytes in use); empty from a service
    # that does not report it, None for a number its platform lacks.
    allocator: dict[str, int | None] = field(default_factory=dict)
    # The older-generation pauses one by one, newest last: (wall time, generation, seconds).
    recent: list[tuple[float, int, float]] = field(default_factory=list)

    def pauses_between(self, start: float, end: float) -> list[float]:
        """The older-generation pauses that ended in ``[start, end]`` (wall time), exact."""
        return [seconds for at, _gen, seconds in self.recent if start <= at <= end]

    def triggers_since(self, before: GcReport) -> list[GcTrigger]:
        """The collections that started between ``before`` and this report, by site, most
        pause time first: a window, so start-up work (loading a table) is left out."""
        earlier = {t.site: t for t in before.triggers}
        grown = []
        for t in self.triggers:
            prior = earlier.get(t.site)
            collections = t.collections - (prior.collections if prior else 0)
            if collections > 0:
                paused = t.pause_seconds - (prior.pause_seconds if prior else 0.0)
                grown.append(GcTrigger(t.site, collections, paused))
        return sorted(grown, key=lambda t: -t.pause_seconds)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> GcReport:
        pauses = [
            GenerationPauses(
                generation=int(gen),
                count=int(p["count"]),
                total_seconds=float(p["total_seconds"]),
                max_seconds=float(p["max_seconds"]),
                p50_seconds=p["p50_seconds"],
                p99_seconds=p["p99_seconds"],
                buckets={k: int(v) for k, v in p["buckets"].items()},
            )
            for gen, p in sorted(body["pauses"].items())
        ]
        t = body["threshold"]
        return cls(
            enabled=bool(body["enabled"]),
            threshold=(int(t[0]), int(t[1]), int(t[2])),
            frozen_objects=int(body["frozen_objects"]),
            garbage=int(body["garbage"]),
            pauses=pauses,
            triggers=[
                GcTrigger(Location.from_json(t), int(t["collections"]), float(t["pause_seconds"]))
                for t in body.get("triggers", [])
            ],
            allocator=dict(body.get("allocator", {})),
            recent=[(float(r["at"]), int(r["generation"]), float(r["seconds"]))
                    for r in body.get("recent_pauses", [])],
        )  # fmt: skip


def window_quantile(
    before: GenerationPauses, after: GenerationPauses, q: float
) -> tuple[int, float | None]:
    """Collections in the window between two reports, and their pause quantile (the
    bucket's upper bound, as Prometheus' histogram_quantile would say at the edge)."""
    deltas = [(k, after.buckets.get(k, 0) - before.buckets.get(k, 0)) for k in after.buckets]
    total = sum(d for _, d in deltas)
    if total <= 0:
        return 0, None
    seen = 0
    for bound, delta in deltas:
        seen += delta
        if seen >= q * total:
            return total, float("inf") if bound == "+Inf" else float(bound)
    return total, None


@dataclass(frozen=True)
class GcWindow:
    """Collections of one generation within a named window, and their pause p99."""

    window: str
    generation: int
    collections: int
    p99_seconds: float | None


def gc_windows(windows: list[tuple[str, GcReport, GcReport]]) -> list[GcWindow]:
    """For each (name, report at start, report at end): one row per generation."""
    rows = []
    for name, start, end in windows:
        for b, a in zip(start.pauses, end.pauses, strict=True):
            count, p99 = window_quantile(b, a, 0.99)
            rows.append(GcWindow(name, a.generation, count, p99))
    return rows


@dataclass(frozen=True)
class Stall:
    seconds: float
    started_at: float
    location: Location | None
    stack: list[str]


@dataclass(frozen=True)
class LoopReport:
    beats: int
    lag_p50_seconds: float | None
    lag_p99_seconds: float | None
    lag_max_seconds: float
    stalled_now_seconds: float
    stalls: list[Stall]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> LoopReport:
        lag = body["lag"]
        return cls(
            beats=int(lag["beats"]),
            lag_p50_seconds=lag["p50_seconds"],
            lag_p99_seconds=lag["p99_seconds"],
            lag_max_seconds=float(lag["max_seconds"]),
            stalled_now_seconds=float(body["stalled_now_seconds"]),
            stalls=[
                Stall(
                    seconds=float(s["seconds"]),
                    started_at=float(s["started_at"]),
                    location=Location.from_json(s["location"]) if s.get("location") else None,
                    stack=list(s["stack"]),
                )
                for s in body["stalls"]
            ],
        )

    def to_json(self) -> dict[str, Any]:
        """The debug view's own shape (``/debug/loop``), which :meth:`from_json` reads."""
        return {
            "lag": {"beats": self.beats, "p50_seconds": self.lag_p50_seconds,
                    "p99_seconds": self.lag_p99_seconds, "max_seconds": self.lag_max_seconds},
            "stalled_now_seconds": self.stalled_now_seconds,
            "stalls": [{"seconds": s.seconds, "started_at": s.started_at,
                        "location": s.location.to_json() if s.location else None,
                        "stack": s.stack} for s in self.stalls],
        }  # fmt: skip


@dataclass(frozen=True)
class TypeCount:
    type: str
    count: int
    delta: int | None = None


@dataclass(frozen=True)
class Owner:
    """Objects of one class that keep ``count`` of a type's objects, through ``via`` (an
    attribute, ``._files``): ``/debug/objects/owners``."""

    owner: str  # module.Class
    via: str
    count: int

    @property
    def class_name(self) -> str:
        return self.owner.rsplit(".", 1)[-1]

    @property
    def module(self) -> str:
        return self.owner.rsplit(".", 1)[0]


@dataclass(frozen=True)
class ObjectCensus:
    most_common: list[TypeCount]
    growth: list[TypeCount] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InjectedWindow:
    """What labctl's window measured inside a process with no debug surface (``--inject``):
    each view at the window's start and end, and what the injection itself cost."""

    pid: int
    python: str
    seconds: float
    tasks: tuple[TaskCensus, TaskCensus]
    gc: tuple[GcReport, GcReport]
    loop: tuple[LoopReport, LoopReport] | None  # None: no running event loop was found
    census_seconds: tuple[float, ...]  # each task census, on the target's main thread
    attach_seconds: float  # the debugger's attach, write and detach
    injected_with: str
    page: int  # the address the debugger wrote its line at (0: none); unmapped at the start
    # Threads of the window's still running at its end (0), the gc callbacks it found.
    leftovers: dict[str, int]
    notes: list[str] = field(default_factory=list)
    artefacts: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
