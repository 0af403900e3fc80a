"""Open file descriptors of any process, grouped the way a leak shows in ``ls -l
/proc/PID/fd``: by folder and by file-name shape (digits folded to ``*``), so a thousand
``segment-1796...csv`` files are one row and the shape's fixed prefix is what to grep for.
Names that differ in letters too (``clicks-aB3xQ.csv``, ``clicks-Zq9Rt.csv``: one file per
id) fold into one shape when a folder holds many: what they share at both ends, around ``*``.

Usage::

    groups = open_files(pid)            # largest group first
    groups[0].shape                     # "clicks-*.csv"
    groups[0].stem                      # "clicks-": grep the code for it
    code_naming(groups[0], [Path("leaky_app")])  # [SourceHit(Location("ClickExports.path"...
    # Who keeps the file objects (the lab's service: /debug/objects/owners), and where in
    # that class they are opened:
    code_opening(Owner("leaky_app.links.exports.OpenFiles", "._files", 40), [Path("leaky_app")])
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
from labctl.records.debug_views import Owner
from labctl.records.location import SourceHit
from labctl.records.open_files import FdGroup

_DIGITS = re.compile(r"\d+")
_FAMILY = 5  # distinct shapes of one extension in one folder that make one family of names


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
    kinds: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for folder, shape in counts:
        kinds[folder, os.path.splitext(shape)[1]].append(shape)
    family = {key: _family(siblings) for key, siblings in kinds.items()}
    folded: collections.Counter[tuple[str, str]] = collections.Counter()
    for (folder, shape), n in counts.items():
        folded[folder, family[folder, os.path.splitext(shape)[1]] or shape] += n
    return [FdGroup(folder, shape, n) for (folder, shape), n in folded.most_common()]


def _family(siblings: list[str]) -> str | None:
    """The shape of one folder's names of one extension taken together (common start, ``*``,
    common end) when there are many that share a start: one file per id of letters and
    digits. None when they are few or share nothing to grep for."""
    if len(siblings) < _FAMILY:
        return None
    # Character by character is what is wanted: these are names in one folder, not paths.
    start = os.path.commonprefix(siblings)  # noqa: RUF071
    rests = [s[len(start) :] for s in siblings]
    end = os.path.commonprefix([r[::-1] for r in rests])[::-1]  # noqa: RUF071
    if not start.rstrip("*"):
        return None  # unrelated files of one extension
    return f"{start.rstrip('*')}*{end.lstrip('*')}"


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


FILE_TYPES = ("_io.TextIOWrapper", "_io.BufferedWriter", "_io.BufferedReader", "_io.FileIO")


def code_opening(owner: Owner, roots: Iterable[Path]) -> list[SourceHit]:
    """Lines of ``owner``'s class that call ``open(``: where the files it keeps are opened.
    The class's module is looked for under each of ``roots`` (a package's folder or the
    folder above it)."""
    relative = Path(*owner.module.split(".")).with_suffix(".py")
    for root in roots:
        for base in (root.parent, root):
            file = base / relative
            if file.is_file():
                prefix = f"{owner.class_name}."
                return [h for h in grep("open(", file) if h.location.function.startswith(prefix)]
    return []
