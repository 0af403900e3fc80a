"""What ``diagnose`` measured in one window, and the lines between healthy and not.

:func:`labctl.evidence.examination.gather` fills an :class:`Evidence`; the rules of
:mod:`labctl.evidence.rules` read it. The derived figures that more than one rule needs (the
site where tasks grew, the time older collections paused the process) live here, so no rule
reads another rule's finding.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field

from labctl.evidence.sources import in_loop
from labctl.records.call_stacks import Stacks
from labctl.records.captures import CpuProfile, HeapReport
from labctl.records.debug_views import (
    GcReport,
    InjectedWindow,
    LoopReport,
    Owner,
    Stall,
    TaskCensus,
)
from labctl.records.location import Location, SourceHit
from labctl.records.open_files import FdGroup

# Below these, a symptom is within what a healthy service under load shows.
CPU_SHARE_FLOOR = 0.2  # the top function's share of a core's time (of samples, by cores used)
RSS_GROWTH_FLOOR = 0.03  # growth over the window as a share of RSS at its start
TASK_GROWTH_FLOOR = 50
GC_SHARE_FLOOR = 0.01  # wall time in older-generation collections
LOOP_STALL_FLOOR = 0.05  # share of the window the loop spent blocked
FD_GROWTH_FLOOR = 20
SERIES_GROWTH_FLOOR = 200
# Outbound attempts per notice finished in the window. A notifier with backoff finishes most
# notices in a try or two; while the server refuses everything its breaker holds the sends
# back (a few probes a window, under SENDS_FLOOR). Its budget (max_attempts, 5) spent at once
# on every notice, as the retry_storm release does, is five per notice.
SENDS_PER_NOTICE_FLOOR = 3
SENDS_FLOOR = 50  # fewer attempts in a window is too little traffic to judge
# Growth that the heap window then finds almost none of still alive was warm-up or allocator
# noise. A leak at a workshop's intensities leaves about 1 MiB alive in a 4 s window even
# while tracemalloc slows the service to a fifth of its throughput (the preview pages' 6.5 KiB
# each, measured), several MiB for the larger ones.
HEAP_CONFIRM_BYTES = 1 << 18
# Client libraries that talk to another service: their frames are where a send is under way.
OUTBOUND_CLIENT = re.compile(
    r"/(aiosmtplib|smtplib\.py|httpx|httpcore|aiohttp|urllib3|requests|grpc|redis)[/.]"
)


@dataclass
class Sample:
    at: float
    cpu_seconds: float  # of the process and its workers
    rss: int  # of the process and its workers
    fds: int
    rss_by_pid: dict[int, int] = field(default_factory=dict)  # with workers: each one's


@dataclass
class Evidence:
    """What was measured in one window; the rules turn it into ranked findings."""

    pid: int
    seconds: float
    samples: list[Sample] = field(default_factory=list)
    cpu: CpuProfile | None = None
    heap: HeapReport | None = None
    tasks: tuple[TaskCensus, TaskCensus] | None = None
    gc: tuple[GcReport, GcReport] | None = None
    loop: tuple[LoopReport, LoopReport] | None = None
    series: tuple[int, int] | None = None
    series_family: str | None = None  # the metric family whose series grew most
    series_code: SourceHit | None = None  # the call that labels it
    # Outbound sends and notices finished (sent or dead) at the window's ends, from /metrics.
    sends: tuple[float, float] | None = None
    notices: tuple[float, float] | None = None
    # Live memory per allocator (the lab's service reports it): start, middle, end.
    allocator: dict[str, list[int]] = field(default_factory=dict)
    fd_groups: list[FdGroup] = field(default_factory=list)  # when descriptors grew
    fd_code: SourceHit | None = None  # the line that names the largest group's files
    fd_owner: Owner | None = None  # what keeps the open file objects (the lab's service)
    fd_opener: SourceHit | None = None  # where the owner's class opens them
    # A healthy CPU capture saved earlier (diagnose --baseline): a function is then judged
    # by how much its share grew against it, not by its share alone.
    baseline_cpu: Stacks | None = None
    injected: InjectedWindow | None = None  # tasks, gc and loop came from inside (--inject)
    notes: list[str] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return max(1e-6, self.samples[-1].at - self.samples[0].at) if self.samples else 0.0

    @property
    def rss_growth(self) -> float:
        """RSS growth over the window, as a share of RSS at its start."""
        return _growth([s.rss for s in self.samples])[0]

    @property
    def series_growth(self) -> int:
        return self.series[1] - self.series[0] if self.series else 0

    @property
    def growing_process(self) -> tuple[int, int] | None:
        """With workers sampled: the process whose RSS grew most (PID, bytes), among those
        alive at both ends of the window."""
        if len(self.samples) < 2 or len(self.samples[0].rss_by_pid) < 2:
            return None
        first, last = self.samples[0].rss_by_pid, self.samples[-1].rss_by_pid
        grown = [(pid, last[pid] - first[pid]) for pid in first.keys() & last.keys()]
        return max(grown, key=lambda g: g[1], default=None)

    @property
    def heap_growth(self) -> tuple[str, float] | None:
        """The allocator whose live memory grew most, and by what share."""
        grown = [(name, _growth(values)[0]) for name, values in self.allocator.items()]
        return max(grown, key=lambda g: g[1]) if grown else None

    @property
    def memory_growing(self) -> bool:
        """RSS or an allocator's live memory kept growing through the window by more than the
        floor. The allocators catch a leak that refills memory freed earlier: RSS stays flat."""
        series = [[s.rss for s in self.samples], *self.allocator.values()]
        return any(
            share >= RSS_GROWTH_FLOOR and sustained for share, sustained in map(_growth, series)
        )

    @property
    def memory_leaking(self) -> bool:
        """Memory kept growing and the heap window, when one ran, found it still alive."""
        if not self.memory_growing:
            return False
        return self.heap is None or self.heap.total_bytes >= HEAP_CONFIRM_BYTES

    @property
    def sends_per_notice(self) -> tuple[float, float] | None:
        """(attempts in the window, attempts per notice finished in it)."""
        if self.sends is None or self.notices is None:
            return None
        attempts = self.sends[1] - self.sends[0]
        return attempts, attempts / max(1.0, self.notices[1] - self.notices[0])

    @property
    def resend_site(self) -> Location | None:
        """The function that sends again and again: in the CPU samples that are in an
        outbound client library, the innermost application frame above it whose line runs
        in a loop body (the loop that calls the send); else the send itself. A loop found in
        any sample wins: the client's protocol callbacks, run by the event loop with no
        coroutine of the caller above them, would otherwise name the program's main."""
        if self.cpu is None:
            return None
        try:
            stacks = self.cpu.stacks()
        except (KeyError, OSError, ValueError):
            return None
        loops: collections.Counter[Location] = collections.Counter()
        sites: collections.Counter[Location] = collections.Counter()
        lines: dict[Location, Location] = {}  # one sampled line of each function, to open
        for stack, count in stacks.counts.items():
            client = next((i for i, f in enumerate(stack) if OUTBOUND_CLIENT.search(f.file)), None)
            if client is None:
                continue
            above = [f for f in stack[:client] if f.is_application]
            looping = [f for f in above if in_loop(f.file, f.line)]
            site = looping[-1] if looping else above[-1] if above else None
            if site is not None:
                (loops if looping else sites)[site.without_line()] += count
                lines.setdefault(site.without_line(), site)
        best = loops or sites
        return lines[best.most_common(1)[0][0]] if best else None

    @property
    def cpu_cores(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        return (self.samples[-1].cpu_seconds - self.samples[0].cpu_seconds) / self.wall

    @property
    def fd_growth(self) -> int:
        return self.samples[-1].fds - self.samples[0].fds if self.samples else 0

    @property
    def task_growth(self) -> int:
        return self.tasks[1].count - self.tasks[0].count if self.tasks else 0

    @property
    def task_growth_site(self) -> Location | None:
        """Where most of the tasks that appeared in the window were created, when tasks grew
        past the floor."""
        if self.tasks is None or self.task_growth < TASK_GROWTH_FLOOR:
            return None
        before, after = self.tasks
        was = before.by_site()
        ranked = sorted(after.groups, key=lambda g: -(g.count - was.get(g.site, 0)))
        return ranked[0].site if ranked else None

    @property
    def gc_site(self) -> Location | None:
        """The application function that was allocating when most of the window's older
        collections' pause time started, when those collections passed the floor."""
        if self.gc is None or self.old_gen_paused_seconds / max(self.wall, 1e-6) < GC_SHARE_FLOOR:
            return None
        before, after = self.gc
        blamed = after.triggers_since(before)
        return blamed[0].site if blamed else None

    @property
    def old_gen_paused_seconds(self) -> float:
        """Seconds the window spent in generation 1 and 2 collections."""
        if self.gc is None:
            return 0.0
        before, after = self.gc
        return sum(
            a.total_seconds - b.total_seconds
            for b, a in zip(before.pauses, after.pauses, strict=True)
            if a.generation >= 1
        )

    @property
    def new_stalls(self) -> list[Stall]:
        """The loop stalls that happened in the window."""
        if self.loop is None:
            return []
        before, after = self.loop
        seen = {(s.started_at, s.seconds) for s in before.stalls}
        return [s for s in after.stalls if (s.started_at, s.seconds) not in seen]


def _growth(values: list[int]) -> tuple[float, bool]:
    """Growth over a series as a share of its first value, and whether it was sustained:
    the later half grew by at least a quarter of the whole, so a warm-up step that levelled
    off does not count."""
    if len(values) < 2:
        return 0.0, False
    first, mid, last = values[0], values[len(values) // 2], values[-1]
    share = (last - first) / max(1, first)
    if len(values) < 3:
        return share, share > 0
    return share, last - mid >= 0.25 * (last - first) > 0
