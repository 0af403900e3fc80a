"""Target script: two busy functions sharing the CPU. argv[1] is the share of each 10 ms that
``parse_records`` takes (``render_pages`` takes the rest), argv[2] how many seconds to run:
two runs with different shares are a baseline and a regression to compare."""

import sys
import time


def spin(until: float) -> int:
    total = 0
    while time.monotonic() < until:
        for i in range(500):
            total = (total * 31 + i) % 1_000_003
    return total


def parse_records(seconds: float) -> int:
    return spin(time.monotonic() + seconds)


def render_pages(seconds: float) -> int:
    return spin(time.monotonic() + seconds)


def main() -> None:
    share, seconds = float(sys.argv[1]), float(sys.argv[2])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        parse_records(0.01 * share)
        render_pages(0.01 * (1 - share))


if __name__ == "__main__":
    main()
