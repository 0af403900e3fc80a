"""Open files of a process grouped the way a leak shows in ``ls -l /proc/PID/fd``: by folder
and by file-name shape (digits folded to ``*``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FdGroup:
    folder: str
    shape: str  # the file name with every run of digits replaced by "*"
    count: int

    @property
    def parts(self) -> list[str]:
        """The shape's fixed parts (["clicks-", ".csv"]): a line of code that names these
        files contains each of them."""
        return [p for p in self.shape.split("*") if p]

    @property
    def stem(self) -> str:
        """The shape's fixed start ("clicks-" of "clicks-*.csv"): the string to grep for."""
        return self.shape.split("*", 1)[0]
