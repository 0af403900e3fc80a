"""Target script: a log writer that opens a new segment file every 20 ms and never closes the
old ones (argv[1] seconds, argv[2] the folder), between bursts of CPU work."""

import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO


class SegmentWriter:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.open: list[TextIO] = []

    def rotate(self) -> None:
        name = self.folder / f"audit-{time.time_ns()}.log"
        self.open.append(name.open("a"))  # the old segment is never closed


def compress(rounds: int) -> int:
    total = 0
    for i in range(rounds):
        total = (total * 31 + i) % 1_000_003
    return total


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    with tempfile.TemporaryDirectory(dir=sys.argv[2] if len(sys.argv) > 2 else None) as tmp:
        writer = SegmentWriter(Path(tmp))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if len(writer.open) < 900:  # ~20 s of growth, under a 1024-descriptor limit
                writer.rotate()
            compress(20_000)
            time.sleep(0.02)


if __name__ == "__main__":
    main()
