"""Dashboard panels drawn with matplotlib, for notebooks: the same PromQL Grafana runs,
against the lab's Prometheus, so what a notebook shows is what the dashboard shows.

Usage::

    fig = plot_panel(prometheus_url, panel("Requests per second by route"), minutes=5)
"""

from __future__ import annotations

import time

from matplotlib.figure import Figure

from labctl.dashboards import PanelSpec
from labctl.prometheus import Series, query_range

# Grafana unit ids -> an axis label and a scale.
_UNITS = {"s": ("seconds", 1.0), "reqps": ("requests/s", 1.0), "bytes": ("MiB", 2.0**-20),
          "percentunit": ("share", 1.0), "short": ("", 1.0)}  # fmt: skip


def _legend(template: str, labels: dict[str, str]) -> str:
    for key, value in labels.items():
        template = template.replace("{{" + key + "}}", value)
    return template


def panel_series(
    url: str, spec: PanelSpec, seconds: float, step: float = 5.0
) -> list[tuple[str, Series]]:
    """(legend, series) for every query of the panel, over the last ``seconds``."""
    return [
        (_legend(q.legend, s.labels), s)
        for q in spec.queries
        for s in query_range(url, q.expr, seconds, step)
    ]


def plot_panel(
    url: str, spec: PanelSpec, seconds: float = 300.0, marks: dict[str, float] | None = None
) -> Figure:
    """The panel as a line chart; ``marks`` draws labelled vertical lines (a fault switched
    on, a fix applied) at unix times."""
    label, scale = _UNITS.get(spec.unit, (spec.unit, 1.0))
    now = time.time()
    fig = Figure(figsize=(9, 3.2))
    ax = fig.subplots()
    for legend, series in panel_series(url, spec, seconds):
        ax.plot([t - now for t, _ in series.points], [v * scale for _, v in series.points],
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
