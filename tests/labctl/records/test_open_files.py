"""Open files by name shape: the fixed parts are what a line naming them contains."""

from labctl.records.open_files import FdGroup


def test_the_shape_gives_the_parts_to_grep_for() -> None:
    group = FdGroup("/srv/exports", "clicks-*.csv", 230)
    assert group.parts == ["clicks-", ".csv"] and group.stem == "clicks-"
    assert FdGroup("/tmp", "*", 3).parts == [] and FdGroup("/tmp", "*.log", 3).stem == ""
