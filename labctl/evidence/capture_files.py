"""Captures saved on disk, read back: a ``run/profiles/<time>-cpu``, ``-heap``, ``-tasks`` or
``-loop`` folder that ``labctl profile`` or ``diagnose`` wrote, or the file in it that holds
the capture (py-spy's ``profile.speedscope.json``, the heap report's ``growth.json``, the debug
views' ``tasks.json`` and ``loop.json``). A speedscope file from anywhere else (py-spy run by
hand, another exporter of sampled profiles) reads too.

Usage::

    saved = read_capture(Path("run/profiles/20261201-101500-cpu"))
    isinstance(saved, Stacks)          # a CPU capture; HeapReport, TaskCensus, LoopReport
    kind_of(saved)                     # "CPU", "heap", "task census", "loop"
"""

from __future__ import annotations

import json
from pathlib import Path

from labctl.errors import LabctlError
from labctl.evidence.probes.heap import GROWTH_FILE
from labctl.evidence.probes.pyspy import SPEEDSCOPE_FILE
from labctl.records.call_stacks import Stacks
from labctl.records.captures import HeapReport
from labctl.records.debug_views import LoopReport, TaskCensus

EXIT_BAD_CAPTURE = 2
TASKS_FILE = "tasks.json"
LOOP_FILE = "loop.json"
WHAT_TO_GIVE = (
    f"give a folder under run/profiles/, or its {SPEEDSCOPE_FILE} (CPU), {GROWTH_FILE} (heap), "
    f"{TASKS_FILE} or {LOOP_FILE}"
)
Capture = Stacks | HeapReport | TaskCensus | LoopReport


def kind_of(capture: Capture) -> str:
    if isinstance(capture, Stacks):
        return "CPU"
    if isinstance(capture, HeapReport):
        return "heap"
    return "task census" if isinstance(capture, TaskCensus) else "loop"


def save_view(folder: Path, view: TaskCensus | LoopReport) -> Path:
    """Keep a debug view read (a task census, the loop's stalls) as a capture of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (TASKS_FILE if isinstance(view, TaskCensus) else LOOP_FILE)
    path.write_text(json.dumps(view.to_json(), indent=2) + "\n")
    return path


def capture_file(path: Path) -> Path:
    """The file of the capture at ``path`` (a folder, or the file itself)."""
    if not path.is_dir():
        return path
    names = (SPEEDSCOPE_FILE, GROWTH_FILE, TASKS_FILE, LOOP_FILE)
    inside = [path / name for name in names if (path / name).is_file()]
    if not inside:
        raise LabctlError(f"{path} holds no capture; {WHAT_TO_GIVE}", EXIT_BAD_CAPTURE)
    return inside[0]


def read_capture(path: Path) -> Capture:
    """The capture at ``path``, or a :class:`LabctlError` (exit 2) saying what is wrong."""
    path = capture_file(path)
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
        if isinstance(doc, dict) and "creation_sites_recorded" in doc:
            return TaskCensus.from_json(doc)
        if isinstance(doc, dict) and "lag" in doc and "stalls" in doc:
            return LoopReport.from_json(doc)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise LabctlError(
            f"{path} is damaged ({exc!r}); capture it again", EXIT_BAD_CAPTURE
        ) from None
    raise LabctlError(
        f"{path} is not a capture labctl reads; {WHAT_TO_GIVE}",
        EXIT_BAD_CAPTURE,
    )


def read_baseline_cpu(path: Path) -> Stacks:
    """The CPU capture of a saved ``diagnose`` folder (its ``cpu/``) or of a ``profile cpu``
    folder or file, for ``diagnose --baseline``."""
    inner = path / "cpu"
    capture = read_capture(inner if inner.is_dir() else path)
    if not isinstance(capture, Stacks):
        raise LabctlError(
            f"{path} is a {kind_of(capture)} capture; --baseline takes a CPU capture (a "
            "diagnose or profile cpu folder)",
            EXIT_BAD_CAPTURE,
        )
    return capture
