"""Frames as plain records, and the rule for "the application frame" in a stack."""

from __future__ import annotations

import os
import re
import types
from dataclasses import dataclass

# The rule labctl applies to any process (labctl/records/location.py), written again here
# because this package imports nothing it could share it through; tests/test_frame_rule.py
# keeps the two the same. By path, so it holds for a venv, pyenv, Debian or a container.
LIBRARY_PATH = re.compile(r"(/lib/python\d+\.\d+/|/site-packages/|/dist-packages/|^<)")
_HERE = os.path.dirname(os.path.realpath(__file__))


@dataclass(frozen=True, slots=True)
class FrameInfo:
    function: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.function} ({self.file}:{self.line})"

    def to_json(self) -> dict[str, str | int]:
        return {"function": self.function, "file": self.file, "line": self.line}


def from_frame(frame: types.FrameType, line: int | None = None) -> FrameInfo:
    code = frame.f_code
    return FrameInfo(
        code.co_qualname, code.co_filename, line if line is not None else frame.f_lineno
    )


def is_library(filename: str) -> bool:
    """Standard library, installed packages, frozen modules, and this debug package (the
    observer's own frames are never the application's)."""
    if LIBRARY_PATH.search(filename):
        return True
    return os.path.realpath(filename).startswith(_HERE + os.sep)


def stack_of(frame: types.FrameType | None, limit: int = 64) -> list[FrameInfo]:
    """Frames from ``frame`` outwards (innermost first), at most ``limit``."""
    frames: list[FrameInfo] = []
    while frame is not None and len(frames) < limit:
        frames.append(from_frame(frame))
        frame = frame.f_back
    return frames


def first_app_frame(frames: list[FrameInfo]) -> FrameInfo | None:
    """The innermost frame of application code (``frames`` innermost first)."""
    for info in frames:
        if not is_library(info.file):
            return info
    return frames[0] if frames else None
