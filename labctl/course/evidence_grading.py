"""Grading a drill's evidence: does the capture a trainee names really show the culprit, and was
it made during the drill?

A capture shows the culprit when the function is among what the capture puts first: the top
functions of a CPU profile (by share of the samples, anywhere on the stack), the top growth
sites of a heap report, the biggest groups of a task census (by creation site), the longest
stalls of the loop report (their location or any frame of their stack). The function matches
by its file and its name, since profilers differ in how much of the qualified name they give.

Usage::

    verdict = grade_evidence(Path("run/profiles/20261202-101500-cpu"),
                             "leaky_app.links.referrers:ReadyRanking.rebuild", since=t0)
    verdict.shows, verdict.message
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from labctl.evidence.capture_files import Capture, capture_file, kind_of, read_capture
from labctl.records.call_stacks import Stacks
from labctl.records.captures import HeapReport
from labctl.records.debug_views import TaskCensus
from labctl.records.location import Location

TOP = 10  # how far down a capture's ranking the culprit may be


@dataclass(frozen=True)
class EvidenceVerdict:
    shows: bool
    kind: str
    path: str
    captured_at: float
    message: str


def leaders(capture: Capture) -> list[Location]:
    """What the capture puts first, in its own order."""
    if isinstance(capture, Stacks):
        return [share.location for share in capture.top_functions(TOP)]
    if isinstance(capture, HeapReport):
        return [site.location for site in capture.growth[:TOP]]
    if isinstance(capture, TaskCensus):
        groups = sorted(capture.groups, key=lambda g: g.count, reverse=True)
        return [group.site for group in groups[:TOP]]
    found = []
    for stall in sorted(capture.stalls, key=lambda s: s.seconds, reverse=True)[:TOP]:
        found += [stall.location] if stall.location else []
        found += [Location.parse(frame) for frame in stall.stack]
    return found


def is_culprit(location: Location, culprit: str) -> bool:
    """``location`` is the function ``culprit`` (``module:qualname``) names."""
    module, _, qualname = culprit.partition(":")
    source = module.replace(".", "/") + ".py"
    name = qualname.rsplit(".", 1)[-1]
    return location.file.endswith(source) and location.function.rsplit(".", 1)[-1] == name


def grade_evidence(path: Path, culprit: str, since: float) -> EvidenceVerdict:
    """Whether the capture at ``path`` was made after ``since`` and shows ``culprit``; the
    message says what it shows instead when it does not. An unreadable capture raises the
    reader's :class:`LabctlError`."""
    capture = read_capture(path)
    kind = kind_of(capture)
    made = capture_file(path).stat().st_mtime
    at = f"{datetime.fromtimestamp(made):%H:%M:%S}"
    if made < since:
        return EvidenceVerdict(
            False,
            kind,
            str(path),
            made,
            f"the {kind} capture {path} was "
            f"made at {at}, before the drill started: capture it again",
        )
    first = leaders(capture)
    if any(is_culprit(location, culprit) for location in first):
        return EvidenceVerdict(True, kind, str(path), made, f"the {kind} capture of {at} shows it")
    named = ", ".join(dict.fromkeys(loc.function for loc in first[:3])) or "nothing"
    return EvidenceVerdict(
        False,
        kind,
        str(path),
        made,
        f"the {kind} capture of {at} puts first {named}, not the function you name",
    )
