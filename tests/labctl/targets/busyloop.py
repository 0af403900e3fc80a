"""Target script: burns CPU in one named function for a bounded time (argv[1] seconds)."""

import sys
import time


def spin_checksum(deadline: float) -> int:
    total = 0
    while time.monotonic() < deadline:
        for i in range(10_000):
            total = (total * 31 + i) % 1_000_003
    return total


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    spin_checksum(time.monotonic() + seconds)


if __name__ == "__main__":
    main()
