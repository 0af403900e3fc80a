"""Lab 05, the fix exercise: a redirect's audit record must be freed the moment it is dropped,
without waiting for the cyclic garbage collector.

This test fails until the fix is made. Check your fix with::

    labctl lab check 05 --fix
"""

import gc
import weakref

from leaky_app.links.audit import RedirectAudit


def test_an_evicted_audit_record_is_freed_without_the_cycle_collector() -> None:
    audit = RedirectAudit(keep_recent=1)
    audit.checks = 3
    gc.disable()  # only reference counting frees objects from here on
    try:
        audit.record("first")
        first = weakref.ref(audit.recent[0])
        audit.record("second")  # the first record leaves the recent-audits deque
        assert first() is None, (
            "the evicted audit record is still alive: something in it points back at it, so "
            "only a full collection of the cyclic garbage collector can free it"
        )
    finally:
        gc.enable()


def test_a_record_still_keeps_its_checks() -> None:
    audit = RedirectAudit(keep_recent=10)
    audit.checks = 2
    audit.record("abc")
    root = audit.recent[-1]
    assert [child.code for child in root.children] == ["abc", "abc"]  # the fix keeps the checks
