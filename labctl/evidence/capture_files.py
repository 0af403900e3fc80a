"""Captures saved on disk, read back: a ``run/profiles/<time>-cpu`` or ``<time>-heap`` folder
that ``labctl profile`` or ``diagnose`` wrote, or the file in it that holds the capture
(py-spy's ``profile.speedscope.json``, the heap report's ``growth.json``). A speedscope file
from anywhere else (py-spy run by hand, another exporter of sampled profiles) reads too.

Usage::

    saved = read_capture(Path("run/profiles/20261201-101500-cpu"))
    isinstance(saved, Stacks)          # a CPU capture; a HeapReport for a heap one
"""

from __future__ import annotations

import json
from pathlib import Path

from labctl.errors import LabctlError
from labctl.evidence.probes.heap import GROWTH_FILE
from labctl.evidence.probes.pyspy import SPEEDSCOPE_FILE
from labctl.records.call_stacks import Stacks
from labctl.records.captures import HeapReport

EXIT_BAD_CAPTURE = 2
WHAT_TO_GIVE = (
    f"give a folder under run/profiles/, or its {SPEEDSCOPE_FILE} (CPU) or {GROWTH_FILE} (heap)"
)


def read_capture(path: Path) -> Stacks | HeapReport:
    """The capture at ``path``, or a :class:`LabctlError` (exit 2) saying what is wrong."""
    if path.is_dir():
        inside = [path / name for name in (SPEEDSCOPE_FILE, GROWTH_FILE) if (path / name).is_file()]
        if not inside:
            raise LabctlError(f"{path} holds no capture; {WHAT_TO_GIVE}", EXIT_BAD_CAPTURE)
        path = inside[0]
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabctlError(f"no such capture: {path}; {WHAT_TO_GIVE}", EXIT_BAD_CAPTURE) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabctlError(
            f"{path} is not a capture labctl reads (not JSON: {exc}); {WHAT_TO_GIVE}",
            EXIT_BAD_CAPTURE,
        ) from None
    try:
        if isinstance(doc, dict) and "profiles" in doc and "shared" in doc:
            return Stacks.from_speedscope(doc)
        if isinstance(doc, dict) and "growth" in doc:
            return HeapReport.from_json(doc)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise LabctlError(
            f"{path} is damaged ({exc!r}); capture it again", EXIT_BAD_CAPTURE
        ) from None
    raise LabctlError(
        f"{path} is neither a CPU capture (speedscope JSON) nor a heap report; {WHAT_TO_GIVE}",
        EXIT_BAD_CAPTURE,
    )


def read_baseline_cpu(path: Path) -> Stacks:
    """The CPU capture of a saved ``diagnose`` folder (its ``cpu/``) or of a ``profile cpu``
    folder or file, for ``diagnose --baseline``."""
    inner = path / "cpu"
    capture = read_capture(inner if inner.is_dir() else path)
    if not isinstance(capture, Stacks):
        raise LabctlError(
            f"{path} is a heap capture; --baseline takes a CPU capture (a diagnose or "
            "profile cpu folder)",
            EXIT_BAD_CAPTURE,
        )
    return capture
