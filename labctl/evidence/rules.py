"""The finding rules of ``diagnose``: each reads the :class:`Evidence` of one window and
returns a :class:`Finding` or nothing, and says which command shows more.

Adding a kind of finding is adding one rule to :data:`RULES`::

    class ThreadRule(Rule):
        kind, follow_up = "threads", "labctl profile cpu --idle"
        def __call__(self, e: Evidence) -> Finding | None: ...

Scores are in [0, 1]: how far the symptom is from a healthy process, so kinds compare.
"""

from __future__ import annotations

from labctl.evidence.window import (
    CPU_SHARE_FLOOR,
    FD_GROWTH_FLOOR,
    GC_SHARE_FLOOR,
    HEAP_CONFIRM_BYTES,
    LOOP_STALL_FLOOR,
    RSS_GROWTH_FLOOR,
    SENDS_FLOOR,
    SENDS_PER_NOTICE_FLOOR,
    SERIES_GROWTH_FLOOR,
    TASK_GROWTH_FLOOR,
    Evidence,
)
from labctl.records.call_stacks import Stacks
from labctl.records.captures import CpuProfile
from labctl.records.comparisons import cpu_diff
from labctl.records.debug_views import gc_windows
from labctl.records.findings import Finding
from labctl.records.location import Location

# A second allocation site is a finding of its own when it kept this share of what the first
# kept (two leaks at once); at most this many sites are findings.
SITE_SHARE = 0.25
MAX_MEMORY_SITES = 3


class Rule:
    """One kind of finding: ``__call__`` judges the evidence, ``found`` builds the finding."""

    kind: str
    follow_up: str  # the command that shows more about a finding of this kind

    def __call__(self, evidence: Evidence) -> Finding | None:
        raise NotImplementedError

    def all(self, evidence: Evidence) -> list[Finding]:
        """Every finding of this kind (one, for most rules)."""
        found = self(evidence)
        return [found] if found is not None else []

    def found(self, location: Location | None, evidence: str, score: float) -> Finding:
        return Finding.at(self.kind, location, evidence, min(1.0, score))


class CpuRule(Rule):
    kind, follow_up = "cpu", "labctl profile cpu"

    def __call__(self, e: Evidence) -> Finding | None:
        cpu = e.cpu
        if cpu is not None and e.baseline_cpu is not None:
            return self._against(e, cpu, e.baseline_cpu)
        # A function with most of the samples of a process that is mostly idle is not a CPU
        # problem (py-spy samples running threads only): its share of the time is what counts.
        if not cpu or not cpu.top or _time_share(e, cpu.top[0].self_pct) < CPU_SHARE_FLOOR:
            return None
        hot = cpu.top[0]
        name = hot.location.function
        return self.found(
            hot.location,
            f"{hot.self_pct:.0f}% of {cpu.samples} CPU samples are in {name} while the process "
            f"uses {e.cpu_cores:.2f} cores" + _in_worker(cpu),
            _time_share(e, hot.self_pct),
        )

    def _against(self, e: Evidence, cpu: CpuProfile, baseline: Stacks) -> Finding | None:
        """The function whose share grew most against the healthy baseline (self or total:
        a caller of a shared helper grows in total), if it grew past the floor."""
        grown = [c for c in cpu_diff(baseline, cpu.stacks()).changes
                 if max(c.self_delta_pct, c.total_delta_pct) > 0]  # fmt: skip
        if not grown:
            return None
        top = grown[0]
        delta = max(top.self_delta_pct, top.total_delta_pct)
        if _time_share(e, delta) < CPU_SHARE_FLOOR:
            return None
        share = top.new_total_pct if delta == top.total_delta_pct else top.new_self_pct
        was = top.base_total_pct if delta == top.total_delta_pct else top.base_self_pct
        return self.found(
            top.location,
            f"{share:.0f}% of {cpu.samples} CPU samples are in {top.location.function} against "
            f"{was:.0f}% in the baseline (+{delta:.0f} points) while the process uses "
            f"{e.cpu_cores:.2f} cores" + _in_worker(cpu),
            _time_share(e, delta),
        )


def _time_share(e: Evidence, sample_pct: float) -> float:
    """A share of the samples as a share of one core's time over the window."""
    return min(1.0, e.cpu_cores) * sample_pct / 100


def _in_worker(cpu: CpuProfile) -> str:
    """Which process carries the samples, when a master and its workers were sampled."""
    busiest = cpu.busiest
    if busiest is None:
        return ""
    return f"; pid {busiest.pid} ({busiest.command[:60]}) carries {busiest.share_pct:.0f}% of them"


class TaskRule(Rule):
    kind, follow_up = "tasks", "labctl profile tasks"

    def __call__(self, e: Evidence) -> Finding | None:
        if e.tasks is None or e.task_growth < TASK_GROWTH_FLOOR:
            return None
        before, after = e.tasks
        site = e.task_growth_site
        # The lab's service records where each task was created; from outside (--inject)
        # only where each is suspended is known.
        where = "were created at" if after.sites_recorded else "are suspended in"
        return self.found(
            site,
            f"live asyncio tasks grew from {before.count} to {after.count} in {e.seconds:g} s; "
            f"most {where} {site}",
            e.task_growth / (10 * TASK_GROWTH_FLOOR),
        )


class MemoryRule(Rule):
    """One finding per allocation site that kept a good share of what the window kept: two
    leaks at once are two findings. Memory kept where leaked tasks were created, or where
    the collector found its work, is their consequence and ranks below them."""

    kind, follow_up = "memory", "labctl profile heap"

    def __call__(self, e: Evidence) -> Finding | None:
        found = self.all(e)
        return found[0] if found else None

    def all(self, e: Evidence) -> list[Finding]:
        if not e.memory_leaking:
            return []
        growth_mib = (e.samples[-1].rss - e.samples[0].rss) / 2**20
        heap = e.heap
        by_allocator = e.heap_growth
        grew = max(e.rss_growth, by_allocator[1] if by_allocator else 0.0)
        score = min(1.0, grew / (10 * RSS_GROWTH_FLOOR))
        text = f"RSS grew {growth_mib:.1f} MiB ({e.rss_growth:.0%}) in {e.seconds:g} s"
        if e.growing_process is not None:
            pid, grown = e.growing_process
            text += (
                f" (pid {pid} {grown / 2**20:+.1f} MiB, the most of the process and its workers)"
            )
        if by_allocator:
            text += f", {by_allocator[0].replace('_', ' ')} {by_allocator[1]:.0%}"
        sites = heap.growth[:MAX_MEMORY_SITES] if heap else []
        if not sites or heap is None:
            return [self.found(None, text, score)]
        top = sites[0].bytes
        kept = [s for s in sites if s.bytes >= max(SITE_SHARE * top, HEAP_CONFIRM_BYTES // 2)]
        causes = {site.function for site in (e.task_growth_site, e.gc_site) if site is not None}
        found = []
        for site in kept or sites[:1]:
            share = score * site.bytes / max(1, top)
            if site.location.function in causes:
                share /= 2  # the leaked tasks or the collector's work are the cause
            found.append(self.found(
                site.location,
                f"{text}; {site.bytes / 2**20:.1f} MiB still alive was allocated in "
                f"{site.location.function} ({heap.source})",
                share,
            ))  # fmt: skip
        return found


class GcRule(Rule):
    kind, follow_up = "gc", "labctl profile gc"

    def __call__(self, e: Evidence) -> Finding | None:
        if e.gc is None:
            return None
        share = e.old_gen_paused_seconds / max(e.wall, 1e-6)
        if share < GC_SHARE_FLOOR:
            return None
        before, after = e.gc
        site = e.gc_site
        windows = gc_windows([("window", before, after)])
        p99 = max((w.p99_seconds or 0.0) for w in windows if w.generation >= 1)
        return self.found(
            site,
            f"older-generation collections took {share:.1%} of the window (pause p99 "
            f"<= {p99 * 1000:.0f} ms); {site} was allocating when they started",
            share / (10 * GC_SHARE_FLOOR),
        )


class LoopRule(Rule):
    kind, follow_up = "loop", "labctl profile loop"

    def __call__(self, e: Evidence) -> Finding | None:
        if e.loop is None:
            return None
        new = e.new_stalls
        # A stop-the-world collection stalls the loop too; that part is the GC finding's.
        blocked = max(0.0, sum(s.seconds for s in new) - e.old_gen_paused_seconds)
        share = blocked / max(e.wall, 1e-6)
        if share < LOOP_STALL_FLOOR:
            return None
        # A stall with no application frame (the framework's own work) names no culprit
        # when another does.
        located = [s for s in new if s.location and s.location.is_application] or [
            s for s in new if s.location
        ]
        per_place: dict[str, float] = {}  # blocked seconds per location
        for s in located:
            per_place[str(s.location)] = per_place.get(str(s.location), 0.0) + s.seconds
        worst = max(located, key=lambda s: per_place[str(s.location)]) if located else None
        place = worst.location if worst else None
        return self.found(
            place,
            f"the event loop was blocked {share:.0%} of the window in {len(new)} stalls; "
            f"the longest share in {place}",
            share / (5 * LOOP_STALL_FLOOR),
        )


class FdRule(Rule):
    # Nothing shows descriptors better than the finding itself; the profile shows the code.
    kind, follow_up = "fds", "labctl profile cpu"

    def __call__(self, e: Evidence) -> Finding | None:
        if e.fd_growth < FD_GROWTH_FLOOR:
            return None
        biggest = e.fd_groups[0] if e.fd_groups else None
        code = e.fd_code
        files = f"{biggest.folder}/{biggest.shape}" if biggest else "?"
        text = f"open descriptors grew by {e.fd_growth} in {e.seconds:g} s"
        if biggest:
            text += f"; {biggest.count} open files are {files}"
        if code:
            text += f", named by `{code.text}`"
        owner, opener = e.fd_owner, e.fd_opener
        if owner:
            text += f"; {owner.count} file objects are kept by {owner.owner}{owner.via}"
        if opener:
            text += f", opened by `{opener.text}`"
            code = opener
        # Without the code, the files themselves are the place to look.
        place = code.location if code else Location("?", files, 0)
        return self.found(place, text, e.fd_growth / (10 * FD_GROWTH_FLOOR))


class CardinalityRule(Rule):
    kind, follow_up = "cardinality", "labctl profile cpu"

    def __call__(self, e: Evidence) -> Finding | None:
        if e.series is None:
            return None
        grew = e.series_growth
        if grew < SERIES_GROWTH_FLOOR:
            return None
        text = f"/metrics grew from {e.series[0]} to {e.series[1]} series in {e.seconds:g} s"
        if e.series_family:
            text += f", most in {e.series_family}"
        if e.series_code is not None:
            text += f", labelled at {e.series_code.location}: {e.series_code.text}"
        at = e.series_code.location if e.series_code else Location("?", "/metrics", 0)
        return self.found(at, text, grew / (10 * SERIES_GROWTH_FLOOR))


class ResendRule(Rule):
    kind, follow_up = "resends", "labctl profile cpu --callers FUNCTION"

    def __call__(self, e: Evidence) -> Finding | None:
        rate = e.sends_per_notice
        if rate is None:
            return None
        attempts, per_notice = rate
        if attempts < SENDS_FLOOR or per_notice < SENDS_PER_NOTICE_FLOOR:
            return None
        site = e.resend_site
        return self.found(
            site,
            f"{attempts:.0f} SMTP transactions in {e.seconds:g} s, {per_notice:.0f} per notice "
            f"finished (a notifier with backoff finishes most in a try or two); the sends in "
            f"the CPU samples run in a loop in {site}",
            (per_notice - 1) / 4,  # a budget of five spent at once on every notice: 1.0
        )


RULES: tuple[Rule, ...] = (
    CpuRule(),
    TaskRule(),
    MemoryRule(),
    GcRule(),
    LoopRule(),
    FdRule(),
    CardinalityRule(),
    ResendRule(),
)


def findings(evidence: Evidence) -> list[Finding]:
    """Every rule's finding on ``evidence``, highest score first, except that a second
    symptom of a function already named (the GC pauses of the code whose memory also grows)
    ranks after every function named once: the top of the list is distinct culprits."""
    ranked = sorted((f for rule in RULES for f in rule.all(evidence)), key=lambda f: -f.score)
    named: set[tuple[str, str]] = set()
    first: list[Finding] = []
    again: list[Finding] = []
    for finding in ranked:
        key = (finding.location.function, finding.location.file)
        (again if key in named and finding.location.function != "?" else first).append(finding)
        named.add(key)
    return first + again


def follow_up(kind: str) -> str:
    """The command that shows more about a finding of ``kind``."""
    return next(rule.follow_up for rule in RULES if rule.kind == kind)
