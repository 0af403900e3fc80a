"""Frames as plain records, and the rule for "the application frame" in a stack."""

from __future__ import annotations

import os
import sysconfig
import types
from dataclasses import dataclass

_STDLIB = os.path.realpath(sysconfig.get_paths()["stdlib"])
_PURELIB = os.path.realpath(sysconfig.get_paths()["purelib"])
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
    """Standard library, installed packages, frozen modules and this debug package."""
    if filename.startswith("<"):
        return True
    path = os.path.realpath(filename)
    return path.startswith((_STDLIB, _PURELIB, _HERE))


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
