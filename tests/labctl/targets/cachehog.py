"""Target script: a function-level cache that keeps every result, so memory only grows.

Runs for argv[1] seconds, computing a "thumbnail" per new key; ``functools.cache`` keeps
each 16 KiB result forever. The culprit for a heap profiler is ``render_thumbnail``.
"""

import functools
import sys
import time


@functools.cache
def render_thumbnail(key: int) -> bytes:
    return bytes(16 * 1024) + key.to_bytes(8, "little")


def checksum(key: int) -> int:
    total = key
    for i in range(20_000):
        total = (total * 31 + i) % 1_000_003
    return total


def serve(deadline: float) -> int:
    key = 0
    while time.monotonic() < deadline:
        key += 1
        render_thumbnail(key)
        checksum(key)  # busy in Python, not asleep: memray attach needs running Python code
        # A cap (320 MiB), so a forgotten run cannot eat the machine. At about 1.2 ms a key
        # it is reached after 25 s: past the end of diagnose's memray window, which on a
        # loaded machine closed after the 6 s a 5,000-key cap lasted, on a flat heap.
        if key >= 20_000:
            key = 0
    return key


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    serve(time.monotonic() + seconds)


if __name__ == "__main__":
    main()
