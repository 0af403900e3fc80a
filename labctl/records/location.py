"""A place in the code, and the one rule for "application code".

Every probe, view and finding names a place as a :class:`Location`: py-spy's frames, memray's
and tracemalloc's allocation sites, the debug surface's task creation sites and loop stalls,
a grep hit. The culprit of a sample or an allocation is its innermost application frame.

Usage::

    Location.parse("Cache.put (/srv/app/cache.py:40)").is_application   # True
    is_application_file("/usr/lib/python3.11/asyncio/tasks.py")         # False
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Frames of the interpreter's own library, of installed packages and frozen modules are not
# application code. Read from paths alone, because the process examined is another one, maybe
# under another interpreter; the patient's debug surface applies the same rule
# (leaky_app/debug/frames.py; tests/test_frame_rule.py keeps the two in step).
LIBRARY_PATH = re.compile(r"(/lib/python\d+\.\d+/|/site-packages/|/dist-packages/|^<)")
MODULE_LEVEL = "<module>"
_TEXT = re.compile(r"^(?P<function>.*) \((?P<file>.*):(?P<line>\d+)\)$")


def is_application_file(file: str) -> bool:
    """Whether code in ``file`` is the application's (not the standard library, an installed
    package or a frozen module)."""
    return not LIBRARY_PATH.search(file)


@dataclass(frozen=True, slots=True)
class Location:
    """``function`` is a qualified name where it is known (``Class.method``), ``<module>`` at
    module level, ``?`` when nothing names it; ``line`` 0 when the line is not known."""

    function: str
    file: str
    line: int

    @property
    def is_application(self) -> bool:
        return is_application_file(self.file)

    def without_line(self) -> Location:
        """One key per function: profilers report the line being executed, which varies."""
        return Location(self.function, self.file, 0)

    @classmethod
    def parse(cls, text: str) -> Location:
        """From ``"qualname (file:line)"``, the debug surface's way of writing a frame."""
        match = _TEXT.match(text)
        if not match:
            return cls(text, "?", 0)
        return cls(match["function"], match["file"], int(match["line"]))

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Location:
        return cls(str(body["function"]), str(body["file"]), int(body.get("line") or 0))

    def to_json(self) -> dict[str, Any]:
        return {"function": self.function, "file": self.file, "line": self.line}

    def __str__(self) -> str:
        return f"{self.function} ({self.file}:{self.line})"


UNKNOWN = Location("?", "?", 0)


@dataclass(frozen=True)
class SourceHit:
    """A line of source that contains what was searched for, and the function around it."""

    location: Location
    text: str  # the line, stripped

    @property
    def in_function(self) -> bool:
        return self.location.function != MODULE_LEVEL
