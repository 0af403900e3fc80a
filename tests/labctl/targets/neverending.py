"""Target script that never exits, as services do: it starts a child and a detached
grandchild (``setsid``, out of its process group), writes the three PIDs to argv[1], then
burns CPU in ``hoard_forever`` and keeps a 64 KiB buffer per round (capped at 64 MiB)."""

import os
import subprocess
import sys

SLEEPER = "import time\nwhile True: time.sleep(1)"
DETACHED = "import os, time\nos.setsid()\nwhile True: time.sleep(1)"


def hoard_forever() -> None:
    kept: list[bytes] = []
    total = 0
    while True:
        for i in range(20_000):
            total = (total * 31 + i) % 1_000_003
        if len(kept) < 1024:
            kept.append(bytes(64 * 1024) + total.to_bytes(8, "little"))


def main() -> None:
    child = subprocess.Popen([sys.executable, "-c", SLEEPER])
    detached = subprocess.Popen([sys.executable, "-c", DETACHED])
    with open(sys.argv[1], "w") as out:
        out.write(f"{os.getpid()} {child.pid} {detached.pid}\n")
    hoard_forever()


if __name__ == "__main__":
    main()
