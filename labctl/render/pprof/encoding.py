"""Captures as gzipped pprof (``profile.proto``): what ``go tool pprof``, Pyroscope and
Grafana's profiles load.

py-spy writes no pprof (its issue #588 is open) and memray neither, so labctl encodes its own
records with the format's schema (``profile.proto`` here, compiled by protobuf's ``protoc``;
``codegen.py`` regenerates it). Usage::

    Path("cpu.pb.gz").write_bytes(cpu_profile(stacks, rate=100, seconds=10))
    Path("heap.pb.gz").write_bytes(heap_profile(in_use, 10, "memray run", allocated))

Frames are :class:`~labctl.records.location.Location`; one pprof Location per function, file
and line, one Function per function and file, one Mapping for the interpreter.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from labctl.records.call_stacks import Stacks
from labctl.records.location import Location
from labctl.render.pprof import profile_pb2 as pb

NANOS = 1_000_000_000
NO_STACK = Location("<no stack>", "?", 0)

# A stack leaf first, as pprof orders it, with one value per sample type.
Sample = tuple[tuple[Location, ...], Sequence[int]]


@dataclass
class _Tables:
    """The string, function and location tables a profile's samples point into."""

    strings: dict[str, int] = field(default_factory=lambda: {"": 0})
    functions: dict[tuple[str, str], int] = field(default_factory=dict)
    locations: dict[Location, int] = field(default_factory=dict)
    profile: pb.Profile = field(default_factory=pb.Profile)

    def string(self, text: str) -> int:
        if text not in self.strings:
            self.strings[text] = len(self.strings)
        return self.strings[text]

    def location(self, frame: Location) -> int:
        if frame in self.locations:
            return self.locations[frame]
        key = (frame.function, frame.file)
        if key not in self.functions:
            self.functions[key] = len(self.functions) + 1
            self.profile.function.add(
                id=self.functions[key],
                name=self.string(display_name(frame.function)),
                system_name=self.string(frame.function),
                filename=self.string(frame.file),
            )
        self.locations[frame] = len(self.locations) + 1
        self.profile.location.add(
            id=self.locations[frame],
            mapping_id=1,
            line=[pb.Line(function_id=self.functions[key], line=frame.line)],
        )
        return self.locations[frame]


def display_name(function: str) -> str:
    """``<module>`` as ``[module]``: pprof shortens a name by dropping what is between angle
    brackets (C++ template arguments), which would leave Python's ``<module>``, ``<lambda>``
    and ``Outer.<locals>.inner`` empty or garbled. ``system_name`` keeps the original."""
    return function.replace("<", "[").replace(">", "]")


def encode(
    sample_types: Sequence[tuple[str, str]],
    samples: Iterable[Sample],
    period: tuple[str, str, int],
    seconds: float,
    comment: str,
    started_ns: int | None = None,
) -> bytes:
    """A gzipped profile.proto of ``samples``; ``period`` is (type, unit, events a sample);
    the last sample type is the one a reader shows first."""
    tables = _Tables()
    profile = tables.profile
    profile.mapping.add(id=1, filename=tables.string("python"), has_functions=True,
                        has_filenames=True, has_line_numbers=True)  # fmt: skip
    for kind, unit in sample_types:
        profile.sample_type.add(type=tables.string(kind), unit=tables.string(unit))
    for stack, values in samples:
        ids = [tables.location(frame) for frame in stack or (NO_STACK,)]
        profile.sample.add(location_id=ids, value=list(values))
    kind, unit, every = period
    profile.period_type.type = tables.string(kind)
    profile.period_type.unit = tables.string(unit)
    profile.period = every
    profile.time_nanos = started_ns if started_ns is not None else time.time_ns()
    profile.duration_nanos = round(seconds * NANOS)
    profile.comment.append(tables.string(comment))
    profile.default_sample_type = tables.string(sample_types[-1][0])
    profile.string_table.extend(tables.strings)  # dicts keep insertion order: index order
    # mtime=0: the same capture gives the same bytes.
    return gzip.compress(profile.SerializeToString(), mtime=0)


def cpu_profile(
    stacks: Stacks, rate: int, seconds: float, idle: bool = False, started_ns: int | None = None
) -> bytes:
    """py-spy's samples: a count and the time it stands for (1/rate s each). With ``idle``,
    waiting threads were sampled too, so the time is wall time, not CPU."""
    every = NANOS // rate
    kind = "wall" if idle else "cpu"
    samples = [
        (tuple(reversed(stack)), (count, count * every)) for stack, count in stacks.counts.items()
    ]
    return encode([("samples", "count"), (kind, "nanoseconds")], samples,
                  (kind, "nanoseconds", every), seconds, f"py-spy, {rate} samples/s",
                  started_ns)  # fmt: skip


@dataclass
class HeapSites:
    """Memory by allocation stack (leaf first): bytes and allocations."""

    bytes: dict[tuple[Location, ...], int] = field(default_factory=dict)
    count: dict[tuple[Location, ...], int] = field(default_factory=dict)

    def add(self, stack: tuple[Location, ...], size: int, count: int) -> None:
        self.bytes[stack] = self.bytes.get(stack, 0) + size
        self.count[stack] = self.count.get(stack, 0) + count

    def merge(self, other: HeapSites) -> None:
        """Add every stack of ``other`` (another process of the same capture)."""
        for stack, size in other.bytes.items():
            self.add(stack, size, other.count[stack])


def heap_profile(
    in_use: HeapSites,
    seconds: float,
    source: str,
    allocated: HeapSites | None = None,
    started_ns: int | None = None,
) -> bytes:
    """Go's heap profile types: ``alloc_objects``/``alloc_space`` (everything the window
    allocated, freed or not) when ``allocated`` is known, and ``inuse_objects``/``inuse_space``
    (allocated in the window and still alive at its end)."""
    types = [("inuse_objects", "count"), ("inuse_space", "bytes")]
    stacks = set(in_use.bytes)
    if allocated is not None:
        types = [("alloc_objects", "count"), ("alloc_space", "bytes"), *types]
        stacks |= set(allocated.bytes)

    def values(stack: tuple[Location, ...]) -> list[int]:
        now = [in_use.count.get(stack, 0), in_use.bytes.get(stack, 0)]
        if allocated is None:
            return now
        return [allocated.count.get(stack, 0), allocated.bytes.get(stack, 0), *now]

    samples = [(stack, values(stack)) for stack in sorted(stacks, key=_stack_key)]
    return encode(types, samples, ("space", "bytes", 1), seconds, source, started_ns)


def _stack_key(stack: tuple[Location, ...]) -> tuple[tuple[str, str, int], ...]:
    return tuple((f.function, f.file, f.line) for f in stack)
