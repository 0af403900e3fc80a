"""Dashboards as data: a dashboard, its panels and their PromQL, and its annotations.

The catalogue is :mod:`labctl.course.dashboard_catalogue`; notebooks draw a panel with
:mod:`labctl.render.plots` from the same spec Grafana shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str

    def __post_init__(self) -> None:
        # A bare metric name may come as a contract.Metric (a StrEnum): keep plain text.
        object.__setattr__(self, "expr", str(self.expr))


@dataclass(frozen=True)
class PanelSpec:
    title: str
    description: str  # the question the panel answers
    unit: str  # a Grafana unit id
    queries: tuple[Query, ...]
    kind: Literal["timeseries", "stat"] = "timeseries"
    width: int = 12


@dataclass(frozen=True)
class AnnotationSpec:
    name: str
    expr: str
    title: str  # Grafana's title format, e.g. "{{fault}}"
    color: str


@dataclass(frozen=True)
class DashboardSpec:
    uid: str
    title: str
    description: str
    panels: tuple[PanelSpec, ...]
    annotations: tuple[AnnotationSpec, ...] = ()

    @property
    def filename(self) -> str:
        return f"{self.uid}.json"
