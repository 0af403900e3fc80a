"""Hold N idle websocket connections to ``/ws/clicks`` (a helper process of
``bench.websockets_memory``: the clients' own memory stays out of the service's numbers).

Prints ``open N`` once every connection is up, then holds them until stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys

from websockets.asyncio.client import ClientConnection, connect

HANDSHAKES_AT_ONCE = 200


async def hold(url: str, n: int) -> None:
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    conns: list[ClientConnection] = []

    async def one() -> None:
        async with gate:
            # compression="deflate" is the client default; the server decides (its setting).
            conns.append(await connect(url, open_timeout=60, ping_interval=None))

    await asyncio.gather(*(one() for _ in range(n)))
    print(f"open {len(conns)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("n", type=int)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(hold(args.url, args.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
