"""Target script: an asyncio program, not ours and with no debug surface, whose loop stalls
and whose collector works hard.

Every 0.4 s a report is rendered synchronously on the loop (0.25 s of ``time.sleep``
standing in for a blocking client), and each request builds a graph of nodes that point
back at their parents, which only the collector frees. It runs for argv[1] seconds and
writes its PID to argv[2] once it serves.
"""

import asyncio
import os
import sys
import time
from pathlib import Path


class Node:
    def __init__(self, parent: "Node | None") -> None:
        self.parent = parent
        self.children: list[Node] = []


class Graph:
    @staticmethod
    def build(size: int) -> Node:
        root = Node(None)
        for _ in range(size):
            child = Node(root)
            root.children.append(child)
        return root


class Report:
    @staticmethod
    def render() -> None:
        time.sleep(0.25)


async def reports(deadline: float) -> None:
    while time.monotonic() < deadline:
        Report.render()
        await asyncio.sleep(0.4)


async def serve(seconds: float, ready: Path) -> None:
    deadline = time.monotonic() + seconds
    keep = [Graph.build(50) for _ in range(2000)]  # an older generation to traverse
    background = asyncio.create_task(reports(deadline))
    ready.write_text(f"{os.getpid()}\n")  # noqa: ASYNC240 (once, before serving)
    while time.monotonic() < deadline:
        Graph.build(2000)
        await asyncio.sleep(0.002)
    await background
    del keep


if __name__ == "__main__":
    asyncio.run(serve(float(sys.argv[1]), Path(sys.argv[2])))
