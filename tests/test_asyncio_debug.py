"""The suite's own set-up (seed Q378): asyncio debug mode on, warnings are errors."""

import asyncio
import warnings

import pytest


async def test_in_process_loops_run_in_debug_mode() -> None:
    assert asyncio.get_running_loop().get_debug()


def test_warnings_are_errors() -> None:
    with pytest.raises(DeprecationWarning):
        warnings.warn("any warning fails the test that raised it", DeprecationWarning, stacklevel=1)
