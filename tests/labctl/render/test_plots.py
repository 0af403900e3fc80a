"""A dashboard panel drawn for a notebook: one line per series, legends, marks."""

import time

import numpy

from labctl.records.dashboard_specs import PanelSpec, Query
from labctl.records.series import Series
from labctl.render.plots import plot_panel


def test_each_series_is_a_line_and_each_mark_a_vertical_one() -> None:
    now = time.time()
    spec = PanelSpec("RSS", "Does memory grow?", "bytes", (Query("rss", "RSS"),))
    series = [
        ("RSS", Series({"job": "a"}, [(now - 60, 2.0**20), (now, 2 * 2.0**20)])),
        ("RSS b", Series({"job": "b"}, [(now - 60, 0.0), (now, 0.0)])),
    ]
    fig = plot_panel(spec, series, seconds=120, marks={"paged": now - 30})
    (ax,) = fig.axes
    lines = [line for line in ax.lines if line.get_label() in ("RSS", "RSS b")]
    assert len(lines) == 2
    assert numpy.asarray(lines[0].get_ydata()).tolist() == [1.0, 2.0]  # bytes in MiB
    assert ax.get_ylabel() == "MiB" and "Does memory grow?" in ax.get_title()
    assert any(t.get_text() == "paged" for t in ax.texts)
