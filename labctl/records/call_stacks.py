"""Sampled call stacks as typed records, and the "which function is the culprit" arithmetic.

Profilers differ in output (py-spy speedscope JSON, collapsed text, the patient's in-process
sampler); they all become :class:`Stacks` of :class:`~labctl.records.location.Location`
frames, and every renderer and ``diagnose`` reads that.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from typing import Any

from labctl.records.location import Location


@dataclass(frozen=True)
class FunctionShare:
    """A function's share of the samples: ``self_pct`` as the innermost application frame,
    ``total_pct`` anywhere on the stack. ``location.line`` is its hottest line."""

    location: Location
    self_pct: float
    total_pct: float

    def to_json(self) -> dict[str, Any]:
        return {**self.location.to_json(), "self_pct": self.self_pct, "total_pct": self.total_pct}


@dataclass(frozen=True)
class Caller:
    """Who calls a function: ``location.line`` is 0 (a caller calls from several lines)."""

    location: Location
    samples: int
    share_pct: float  # of the callee's samples

    def to_json(self) -> dict[str, Any]:
        return {"function": self.location.function, "file": self.location.file,
                "samples": self.samples, "share_pct": self.share_pct}  # fmt: skip


@dataclass
class Stacks:
    """Sample counts per stack (outermost frame first)."""

    counts: collections.Counter[tuple[Location, ...]] = field(default_factory=collections.Counter)

    @property
    def samples(self) -> int:
        return sum(self.counts.values())

    @classmethod
    def from_speedscope(cls, doc: dict[str, Any]) -> Stacks:
        frames = [
            Location(f.get("name", "?"), f.get("file", "?"), int(f.get("line") or 0))
            for f in doc["shared"]["frames"]
        ]
        stacks = cls()
        for profile in doc["profiles"]:
            if profile.get("type") == "sampled":
                weights = profile.get("weights") or [1] * len(profile["samples"])
                for sample, weight in zip(profile["samples"], weights, strict=False):
                    # py-spy weights are sample counts; other exporters use seconds.
                    stacks.counts[tuple(frames[i] for i in sample)] += max(1, round(weight))
            elif profile.get("type") == "evented":
                raise ValueError("evented speedscope profiles are not supported")
        return stacks

    @classmethod
    def per_process(cls, doc: dict[str, Any]) -> dict[int, Stacks]:
        """One :class:`Stacks` per process of a py-spy ``--subprocesses`` capture, whose
        speedscope profiles are named ``Process PID Thread TID ...``; {} for other files."""
        found: dict[int, Stacks] = {}
        for profile in doc["profiles"]:
            named = _PROCESS.match(str(profile.get("name", "")))
            if named is None:
                return {}
            single = cls.from_speedscope({"shared": doc["shared"], "profiles": [profile]})
            found.setdefault(int(named["pid"]), cls()).counts.update(single.counts)
        return found

    def top_functions(self, limit: int = 15) -> list[FunctionShare]:
        """Functions by self share, where "self" is the innermost *application* frame of
        each sample (so time in ``time.sleep`` counts for the function that called it)."""
        total = self.samples
        if not total:
            return []
        self_counts: collections.Counter[Location] = collections.Counter()
        total_counts: collections.Counter[Location] = collections.Counter()
        # The line shown for a function is its hottest line among the samples it is in.
        lines: collections.defaultdict[Location, collections.Counter[int]] = (
            collections.defaultdict(collections.Counter)
        )
        for stack, count in self.counts.items():
            app = [f for f in stack if f.is_application]
            if not app or _framework_time(stack):
                continue
            self_counts[app[-1].without_line()] += count
            for frame in set(app):
                lines[frame.without_line()][frame.line] += count
            for key in {f.without_line() for f in app}:
                total_counts[key] += count
        ranked = sorted(total_counts, key=lambda f: (-self_counts[f], -total_counts[f]))
        return [
            FunctionShare(
                Location(f.function, f.file, lines[f].most_common(1)[0][0]),
                round(100 * self_counts[f] / total, 2),
                round(100 * total_counts[f] / total, 2),
            )
            for f in ranked[:limit]
        ]

    def callers(self, function: str) -> list[Caller]:
        """Who calls ``function`` (pprof's ``-peek``): in every sample with it on the stack,
        the nearest application frame above its outermost call, as a share of its samples.
        Library frames in between (a retry decorator, a context manager) are skipped."""
        by_caller: collections.Counter[Location] = collections.Counter()
        seen = 0
        for stack, count in self.counts.items():
            at = next((i for i, f in enumerate(stack) if f.function == function), None)
            if at is None:
                continue
            seen += count
            above = [f for f in stack[:at] if f.is_application]
            if above:
                by_caller[above[-1].without_line()] += count
        return [Caller(f, n, round(100 * n / seen, 2)) for f, n in by_caller.most_common()]

    def collapsed(self) -> str:
        return "".join(
            ";".join(str(f) for f in stack) + f" {count}\n"
            for stack, count in self.counts.most_common()
        )


_PROCESS = re.compile(r"^Process (?P<pid>\d+) ")

# More library frames than this under the entry point's own frames is the framework working
# for itself (event loop, server, sockets), not the entry point's code being slow.
FRAMEWORK_DEPTH = 4


def _framework_time(stack: tuple[Location, ...]) -> bool:
    """True when the only application frames are the leading entry chain (``<module>``,
    ``main``) and deep library code runs beneath them."""
    entry = 0
    while entry < len(stack) and not stack[entry].is_application:  # runpy and the like
        entry += 1
    while entry < len(stack) and stack[entry].is_application:
        entry += 1
    rest = stack[entry:]
    return not any(f.is_application for f in rest) and len(rest) > FRAMEWORK_DEPTH
