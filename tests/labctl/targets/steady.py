"""Target script: a healthy asyncio program, not ours, that works steadily and keeps nothing:
rounds of ten concurrent handlers that wait 10 ms and build a small JSON reply. It runs for
argv[1] seconds."""

import asyncio
import json
import random
import sys
import time


async def handle(request: int) -> str:
    await asyncio.sleep(0.01)
    return json.dumps({"request": request, "scores": [random.random() for _ in range(20)]})


async def serve(seconds: float) -> int:
    served, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.gather(*(handle(served + k) for k in range(10)))
        served += 10
    return served


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0))
