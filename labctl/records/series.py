"""A time series as Prometheus' HTTP API returns it, for panels and timelines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels, and (unix time, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]
