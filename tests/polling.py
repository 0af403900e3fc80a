"""Bounded polling: wait for a condition instead of sleeping a guessed amount.

The deadlines are ceilings for a loaded 2-core CI machine, not speed claims; tests that care
about speed compare ratios, and speed goals live in bench/.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEFAULT_DEADLINE_S = 10.0


async def eventually(
    condition: Callable[[], bool], what: str, deadline_s: float = DEFAULT_DEADLINE_S
) -> float:
    """Await until ``condition()`` holds; return the seconds it took. Fails with ``what``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > deadline_s:
            raise AssertionError(f"not within {deadline_s} s: {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def eventually_sync(
    condition: Callable[[], bool], what: str, deadline_s: float = DEFAULT_DEADLINE_S
) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > deadline_s:
            raise AssertionError(f"not within {deadline_s} s: {what}")
        time.sleep(0.05)
    return time.monotonic() - started
