"""Lab 08, the fix exercise: exporting the clicks of a thousand links must hold no more than a
few dozen descriptors, however many links are clicked, and still write every click.

This test fails until the fix is made. Check your fix with::

    labctl lab check 08 --fix
"""

from pathlib import Path

import psutil

from leaky_app.links.exports import ClickExports

OPEN_AT_MOST = 64  # descriptors the exports may hold, whatever the number of links


def test_clicks_on_a_thousand_links_hold_a_bounded_number_of_descriptors(
    tmp_path: Path,
) -> None:
    me = psutil.Process()
    # As the service has it: up to 1000 files may be open (its fault_max_fds).
    exports = ClickExports(tmp_path / "exports", max_open=1000)
    exports.use_writer("open")  # the release the service runs
    before = me.num_fds()
    try:
        for n in range(1000):
            for _ in range(2):
                exports.append(f"link{n}", 1796300000.0 + n, "https://news.example/item/1")
        held = me.num_fds() - before
        rows = [exports.read(f"link{n}").decode().count("\r\n") - 1 for n in range(1000)]
    finally:
        exports.use_writer("appends")
    assert held <= OPEN_AT_MOST, (
        f"clicks on 1000 links leave {held} more descriptors open: a file is kept per link"
    )
    assert rows == [2] * 1000  # every click of every link is in its export
    assert me.num_fds() <= before  # and switching writers leaves nothing open
