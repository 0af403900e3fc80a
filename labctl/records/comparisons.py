"""Two captures of the same kind compared, as ``pprof -base`` compares two profiles: what grew
and what shrank between a baseline and a new capture.

CPU captures are compared by share of their own samples, never by raw counts: a 10 s and a
30 s capture, or one at 100 and one at 250 samples a second, compare as they should. Heap
captures are compared by bytes a second of their windows, for the same reason.

Usage::

    change = cpu_diff(base_stacks, new_stacks).changes[0]
    change.location.function, change.self_delta_pct     # the function that grew most, +pp
    heap_diff(base_report, new_report).changes[0]       # the site whose growth rose most
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labctl.records.call_stacks import FunctionShare, Stacks
from labctl.records.captures import GrowthSite, HeapReport
from labctl.records.location import Location

# Every function of a capture takes part, not only the table's top rows.
ALL_FUNCTIONS = 1_000_000


@dataclass(frozen=True)
class FunctionChange:
    """A function's self and total share of samples (percent) in each capture."""

    location: Location  # line: its hottest line in the new capture, else in the base
    base_self_pct: float
    new_self_pct: float
    base_total_pct: float
    new_total_pct: float

    @property
    def self_delta_pct(self) -> float:
        return round(self.new_self_pct - self.base_self_pct, 2)

    @property
    def total_delta_pct(self) -> float:
        return round(self.new_total_pct - self.base_total_pct, 2)

    def to_json(self) -> dict[str, Any]:
        return {**self.location.to_json(), "base_self_pct": self.base_self_pct,
                "new_self_pct": self.new_self_pct, "self_delta_pct": self.self_delta_pct,
                "base_total_pct": self.base_total_pct, "new_total_pct": self.new_total_pct,
                "total_delta_pct": self.total_delta_pct}  # fmt: skip


@dataclass(frozen=True)
class CpuDiff:
    base_samples: int
    new_samples: int
    changes: list[FunctionChange]  # largest change (self or total share) first

    def to_json(self) -> dict[str, Any]:
        return {"kind": "cpu", "base_samples": self.base_samples,
                "new_samples": self.new_samples,
                "changes": [c.to_json() for c in self.changes]}  # fmt: skip


def cpu_diff(base: Stacks, new: Stacks, limit: int = 20) -> CpuDiff:
    """Functions ranked by how much their share changed, self or total, each capture's
    shares taken of its own samples, by the same rules as its own table."""
    before = _shares(base)
    after = _shares(new)
    changes = []
    for key in before.keys() | after.keys():
        old, now = before.get(key), after.get(key)
        hottest = now or old
        line = hottest.location.line if hottest is not None else 0
        changes.append(
            FunctionChange(
                Location(key.function, key.file, line),
                old.self_pct if old else 0.0,
                now.self_pct if now else 0.0,
                old.total_pct if old else 0.0,
                now.total_pct if now else 0.0,
            )
        )
    # A function whose callees got slower changes its total share, not its self share: rank
    # by whichever of the two changed more, so a shared helper does not hide its callers.
    changes.sort(key=lambda c: (-max(abs(c.self_delta_pct), abs(c.total_delta_pct)),
                                -abs(c.self_delta_pct), c.location.function))  # fmt: skip
    return CpuDiff(base.samples, new.samples, changes[:limit])


def _shares(stacks: Stacks) -> dict[Location, FunctionShare]:
    return {f.location.without_line(): f for f in stacks.top_functions(ALL_FUNCTIONS)}


@dataclass(frozen=True)
class SiteChange:
    """An allocation site's growth in each capture, in bytes a second of its window."""

    location: Location
    base_bytes: int
    new_bytes: int
    base_rate: float  # bytes a second
    new_rate: float

    @property
    def rate_delta(self) -> float:
        return self.new_rate - self.base_rate

    def to_json(self) -> dict[str, Any]:
        return {**self.location.to_json(), "base_bytes": self.base_bytes,
                "new_bytes": self.new_bytes, "base_bytes_per_second": round(self.base_rate, 1),
                "new_bytes_per_second": round(self.new_rate, 1),
                "delta_bytes_per_second": round(self.rate_delta, 1)}  # fmt: skip


@dataclass(frozen=True)
class HeapDiff:
    base_seconds: float
    new_seconds: float
    changes: list[SiteChange]  # largest change of growth rate first
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "heap", "base_seconds": self.base_seconds,
                "new_seconds": self.new_seconds,
                "changes": [c.to_json() for c in self.changes], "notes": self.notes}  # fmt: skip


def heap_diff(base: HeapReport, new: HeapReport, limit: int = 20) -> HeapDiff:
    """Allocation sites ranked by the change in what they kept a second: ``pprof -base`` for
    two heap windows. A site beyond a report's rows counts as nothing kept there."""
    before, after = _by_site(base.growth), _by_site(new.growth)
    changes = []
    for key in before.keys() | after.keys():
        old, now = before.get(key), after.get(key)
        kept_before, kept_after = (old.bytes if old else 0), (now.bytes if now else 0)
        changes.append(SiteChange(
            (now if now is not None else before[key]).location, kept_before, kept_after,
            kept_before / max(base.seconds, 1e-9), kept_after / max(new.seconds, 1e-9),
        ))  # fmt: skip
    changes.sort(key=lambda c: (-abs(c.rate_delta), c.location.function))
    notes = []
    if base.source != new.source:
        notes.append(f"the captures come from different tools ({base.source}, {new.source})")
    return HeapDiff(base.seconds, new.seconds, changes[:limit], notes)


def _by_site(growth: list[GrowthSite]) -> dict[Location, GrowthSite]:
    sites: dict[Location, GrowthSite] = {}
    for site in growth:
        key = site.location.without_line()
        if key in sites:  # one function allocating on two lines: one site here
            old = sites[key]
            site = GrowthSite(old.location, old.bytes + site.bytes, old.count + site.count)
        sites[key] = site
    return sites
