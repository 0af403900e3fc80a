"""Lab 08, the fix exercise: exporting clicks must hold at most a descriptor or two open,
however many segments it writes, and still write every click.

This test fails until the fix is made. Check your fix with::

    labctl lab check 08 --fix
"""

from pathlib import Path

import psutil

from leaky_app.links.exports import ClickExporter


def test_a_thousand_clicks_in_a_hundred_segments_hold_no_descriptor_each(tmp_path: Path) -> None:
    me = psutil.Process()
    exporter = ClickExporter(tmp_path / "exports")
    exporter.clicks_per_segment = 10
    before = me.num_fds()
    try:
        for i in range(1000):
            exporter.append(f"c{i}")
        held = me.num_fds() - before
        rows = sum(len(f.read_text().splitlines()) for f in (tmp_path / "exports").glob("*.csv"))
        segments = len(list((tmp_path / "exports").glob("*.csv")))
    finally:
        exporter.close()
    assert held <= 2, (
        f"100 segments later the process holds {held} more descriptors: each segment's file "
        "stays open after the next one starts"
    )
    # Every click is in its segment (the one still open may keep its last ones in its buffer).
    assert segments == 100 and 990 <= rows <= 1000
    assert me.num_fds() <= before  # and closing the exporter leaves nothing open
