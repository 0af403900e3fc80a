"""Target script: a multiprocessing pool of three workers, one of which gets a task that
spends argv[1] seconds of CPU in ``crunch_ledger``; the others finish theirs at once and
wait. It writes that worker's PID to argv[2] when the heavy task starts. With argv[3]
``hoard``, ``crunch_ledger`` also keeps an 8 KiB entry a round (about 8 MiB a second, at
most 256 MiB: half a minute of growth, longer than any window that watches it)."""

import multiprocessing
import os
import sys
import time


def crunch_ledger(seconds: float, hoard: bool) -> int:
    total, deadline = 0, time.monotonic() + seconds
    kept: list[bytes] = []
    while time.monotonic() < deadline:
        for i in range(10_000):
            total = (total * 31 + i) % 1_000_003
        if hoard and len(kept) < 32_768:
            kept.append(bytes(8 * 1024) + total.to_bytes(8, "little"))
    return total


def task(n: int) -> int:
    if n == 0:
        with open(sys.argv[2], "w") as out:
            out.write(f"{os.getpid()}\n")
        return crunch_ledger(float(sys.argv[1]), sys.argv[3:] == ["hoard"])
    return n


def main() -> None:
    with multiprocessing.Pool(3) as pool:
        pool.map(task, range(3), chunksize=1)


if __name__ == "__main__":
    main()
