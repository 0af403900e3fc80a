"""Typed records of the debug views: arithmetic over two reports."""

from labctl.records.debug_views import GcReport, GcTrigger
from labctl.records.location import Location

LOAD = Location("Audit.load_table", "/srv/app/audit.py", 10)
RECORD = Location("Audit.record", "/srv/app/audit.py", 30)


def report(*triggers: GcTrigger) -> GcReport:
    return GcReport(True, (700, 10, 10), 0, 0, [], list(triggers))


def test_triggers_since_keep_only_the_collections_of_the_window() -> None:
    before = report(GcTrigger(LOAD, 40, 2.0), GcTrigger(RECORD, 5, 0.1))
    after = report(GcTrigger(LOAD, 40, 2.0), GcTrigger(RECORD, 9, 0.5),
                   GcTrigger(Location("new_site", "/srv/app/x.py", 1), 1, 0.05))  # fmt: skip
    window = after.triggers_since(before)
    assert [(t.site.function, t.collections, round(t.pause_seconds, 3)) for t in window] == [
        ("Audit.record", 4, 0.4),
        ("new_site", 1, 0.05),
    ]  # the table load, all before the window, is out
    assert after.triggers_since(after) == []
