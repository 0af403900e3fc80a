"""Target script: an asyncio service, not ours and with no debug surface, that leaks tasks.

Each order fans out a delivery per subscriber; a delivery waits for an acknowledgement that a
retired subscriber never sends, and the service keeps every delivery task in a set it never
prunes. A thread pool computes the order totals (so the target is multi-threaded, as most
services are). It runs for argv[1] seconds and writes its PID to argv[2] once it serves.
"""

import asyncio
import concurrent.futures
import hashlib
import os
import sys
import time
from pathlib import Path


class Fanout:
    def __init__(self) -> None:
        self.deliveries: set[asyncio.Task[None]] = set()
        self.acks: dict[int, asyncio.Event] = {}

    async def deliver(self, subscriber: int, order: int) -> None:
        ack = self.acks.setdefault(subscriber, asyncio.Event())
        await ack.wait()  # subscriber 3 was retired: nobody sets its event

    def publish(self, order: int) -> None:
        for subscriber in range(4):
            task = asyncio.get_running_loop().create_task(self.deliver(subscriber, order))
            self.deliveries.add(task)
        for subscriber in range(3):  # the live ones acknowledge at once
            self.acks.setdefault(subscriber, asyncio.Event()).set()
            self.acks[subscriber] = asyncio.Event()


def total(order: int) -> str:
    return hashlib.sha256(str(order).encode() * 50).hexdigest()


async def serve(seconds: float, ready: Path) -> None:
    fanout, deadline, order = Fanout(), time.monotonic() + seconds, 0
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        ready.write_text(f"{os.getpid()}\n")  # noqa: ASYNC240 (once, before serving)
        while time.monotonic() < deadline:
            await loop.run_in_executor(pool, total, order)
            fanout.publish(order)
            order += 1
            await asyncio.sleep(0.005)


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1]), Path(sys.argv[2])))
