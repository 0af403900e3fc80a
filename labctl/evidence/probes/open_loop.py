"""Latency as a client sees it: an open-loop load whose requests go out on a fixed schedule,
each one's latency counted from the moment it was due, not from when it was sent.

A closed-loop load (locust's users, wrk's connections) waits for an answer before it sends
the next request, so while the server is paused it sends nothing and records one slow request
where a real crowd would have had hundreds: coordinated omission. Counted from its intended
send time, every request due during a pause carries the pause. wrk2 measures this way; it is
not packaged in Debian, hence this small one on httpx.

Usage::

    latency = open_loop("http://127.0.0.1:8000", ["/abc", "/def"], rate=50, seconds=10)
    latency.p999_seconds, latency.errors
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx

from labctl.records.client_latency import ClientLatency

TIMEOUT_S = 10.0


async def _run(base_url: str, paths: Sequence[str], rate: float, seconds: float) -> ClientLatency:
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0
    total = max(1, int(rate * seconds))
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT_S, limits=limits) as client:
        start = loop.time() + 0.05

        async def one(i: int) -> None:
            nonlocal errors
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                response = await client.get(paths[i % len(paths)])
            except httpx.HTTPError:
                errors += 1
                return
            if response.status_code >= 400:
                errors += 1
                return
            latencies.append(loop.time() - due)

        await asyncio.gather(*(one(i) for i in range(total)))
    return ClientLatency.of(rate, total, latencies, errors)


def open_loop(base_url: str, paths: Sequence[str], rate: float, seconds: float) -> ClientLatency:
    """``rate`` requests a second for ``seconds``, cycling through ``paths`` (redirects: they
    are answered, not followed)."""
    if not paths:
        raise ValueError("open_loop needs at least one path to request")
    # A loop of its own on a thread of its own: callable from code that already runs one
    # (a notebook's kernel), and the caller's loop does not delay the schedule.
    with ThreadPoolExecutor(1, thread_name_prefix="open-loop") as pool:
        return pool.submit(asyncio.run, _run(base_url, paths, rate, seconds)).result()
