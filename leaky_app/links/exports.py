"""Click export segments: one CSV file per segment, appended to as clicks arrive."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO


class ClickExporter:
    """``clicks_per_segment`` > 0 turns exports on; a new segment file every N clicks."""

    def __init__(self, folder: Path, max_open: int = 1000) -> None:
        self.folder = folder
        self.max_open = max_open
        self.clicks_per_segment = 0
        self._segments: list[TextIO] = []
        self._written = 0

    def append(self, code: str) -> None:
        if not self.clicks_per_segment:
            return
        if self._written % self.clicks_per_segment == 0 and len(self._segments) < self.max_open:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = self.folder / f"clicks-{time.time_ns()}.csv"
            self._segments.append(name.open("a"))  # opened per segment, never closed
        if self._segments:
            self._segments[-1].write(f"{code},{time.time():.3f}\n")
        self._written += 1

    def open_segments(self) -> int:
        return len(self._segments)

    def close(self) -> None:
        self.clicks_per_segment = 0
        for handle in self._segments:
            handle.close()
            Path(handle.name).unlink(missing_ok=True)  # the lab keeps no export data
        self._segments.clear()
        self._written = 0
