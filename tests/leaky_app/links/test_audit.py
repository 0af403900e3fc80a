import gc

from leaky_app.links.audit import AuditEntry, RedirectAudit


def _entries_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, AuditEntry))


def test_entries_kept_stay_under_the_cap_at_any_intensity() -> None:
    before = _entries_alive()
    audit = RedirectAudit(max_rows=1000, max_objects=20_000)
    for checks in (30, 300, 3000):  # 1x, 10x, 100x
        audit.checks = checks
        for _ in range(300):
            audit.record("abc")
        assert _entries_alive() - before <= 20_000, checks
    assert _entries_alive() - before > 10_000  # the cap is what holds it, not a tiny deque
    audit.unload()
    assert _entries_alive() - before == 0
