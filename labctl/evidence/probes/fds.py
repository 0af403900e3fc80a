"""Open file descriptors of any process, grouped the way a leak shows in ``ls -l
/proc/PID/fd``: by folder and by file-name shape (digits folded to ``*``), so a thousand
``clicks-1796...csv`` segments are one row and the shape's fixed prefix is what to grep for.

Usage::

    groups = open_files(pid)            # largest group first
    groups[0].shape                     # "clicks-*.csv"
    groups[0].stem                      # "clicks-": grep the code for it
    code_naming(groups[0], [Path("leaky_app")])  # [SourceHit(Location("ClickExporter.append"...
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Iterable
from pathlib import Path

import psutil

from labctl.evidence.probes.target import EXIT_NO_PROCESS, EXIT_PERMISSION, ProbeError
from labctl.evidence.sources import grep
from labctl.records.location import SourceHit
from labctl.records.open_files import FdGroup

_DIGITS = re.compile(r"\d+")


def open_files(pid: int) -> list[FdGroup]:
    """Regular files ``pid`` has open, grouped by folder and name shape, largest first.
    Sockets and pipes are not files (psutil lists only paths)."""
    try:
        paths = [f.path for f in psutil.Process(pid).open_files()]
    except psutil.NoSuchProcess as exc:
        raise ProbeError(f"no process with pid {pid}", EXIT_NO_PROCESS) from exc
    except psutil.AccessDenied as exc:
        message = f"not allowed to list the files of pid {pid}: run as its user"
        raise ProbeError(message, EXIT_PERMISSION) from exc
    counts = collections.Counter(
        (os.path.dirname(p), _DIGITS.sub("*", os.path.basename(p))) for p in paths
    )
    return [FdGroup(folder, shape, n) for (folder, shape), n in counts.most_common()]


def code_naming(group: FdGroup, roots: Iterable[Path]) -> list[SourceHit]:
    """Lines of code under ``roots`` (folders or files) that build a name of ``group``'s
    shape: they contain every fixed part of it (``"clicks-"`` and ``".csv"`` for
    ``clicks-*.csv``)."""
    parts = group.parts
    if not parts:
        return []  # a name of digits only: nothing to grep for
    longest = max(parts, key=len)
    return [
        hit
        for root in roots
        for hit in grep(longest, root)
        if all(part in hit.text for part in parts)
    ]
