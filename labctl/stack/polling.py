"""Bounded polling for notebooks and commands: wait for a condition, never a guessed sleep.

Usage::

    wait_until(lambda: read_stats(run_dir) is not None, timeout=60, what="locust's first stats")
"""

from __future__ import annotations

import time
from collections.abc import Callable

from labctl.errors import LabctlError


class TimedOut(LabctlError):
    """The condition did not hold in time; the message names it."""


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str = "the condition", every: float = 0.5
) -> float:
    """Poll until ``condition()`` holds; the seconds it took. Raises :class:`TimedOut`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimedOut(f"{what} did not happen within {timeout:g} s")
        time.sleep(every)
    return time.monotonic() - started
