"""labctl's bounded polling: returns once the condition holds, names it when it never does."""

import itertools

import pytest

from labctl.stack.polling import TimedOut, wait_until


def test_returns_once_the_condition_holds() -> None:
    calls = itertools.count(1)
    assert wait_until(lambda: next(calls) >= 3, timeout=5, every=0.01) < 5


def test_a_condition_that_never_holds_times_out_with_its_name() -> None:
    with pytest.raises(TimedOut, match=r"the first scrape did not happen within 0\.05 s"):
        wait_until(lambda: False, timeout=0.05, what="the first scrape", every=0.01)
