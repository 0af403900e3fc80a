"""Dashboard panels drawn with matplotlib, for notebooks: the series of the same PromQL
Grafana runs (read from the lab's Prometheus by
:func:`labctl.course.dashboard_catalogue.panel_series`), so what a notebook shows is what the
dashboard shows.

Usage::

    spec = panel("Requests per second by route")
    fig = plot_panel(spec, panel_series(prometheus_url, spec, 300), seconds=300)
"""

from __future__ import annotations

import time

from matplotlib.figure import Figure

from labctl.records.dashboard_specs import PanelSpec
from labctl.records.series import Series

# Grafana unit ids -> an axis label and a scale.
_UNITS = {"s": ("seconds", 1.0), "reqps": ("requests/s", 1.0), "bytes": ("MiB", 2.0**-20),
          "percentunit": ("share", 1.0), "short": ("", 1.0)}  # fmt: skip


def plot_panel(
    spec: PanelSpec,
    series: list[tuple[str, Series]],
    seconds: float = 300.0,
    marks: dict[str, float] | None = None,
) -> Figure:
    """The panel's ``(legend, series)`` as a line chart over the last ``seconds``; ``marks``
    draws labelled vertical lines (a fault switched on, a fix applied) at unix times."""
    label, scale = _UNITS.get(spec.unit, (spec.unit, 1.0))
    now = time.time()
    fig = Figure(figsize=(9, 3.2))
    ax = fig.subplots()
    for legend, one in series:
        ax.plot([t - now for t, _ in one.points], [v * scale for _, v in one.points],
                label=legend)  # fmt: skip
    for text, at in (marks or {}).items():
        ax.axvline(at - now, color="red", linestyle="--")
        ax.annotate(text, (at - now, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                    va="top", ha="right", color="red", fontsize=8)  # fmt: skip
    ax.set_title(f"{spec.title}\n{spec.description}", fontsize=9)
    ax.set_xlabel("seconds ago")
    ax.set_ylabel(label)
    if ax.lines:
        ax.legend(fontsize=7, loc="upper left")
    return fig
