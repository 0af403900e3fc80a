"""Latency as a client sees it, from an open-loop load (:mod:`labctl.evidence.probes.open_loop`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def nearest_rank(ordered: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of sorted values by nearest rank: one of the values themselves."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True)
class ClientLatency:
    rate: float  # requests a second, on schedule
    sent: int
    answered: int
    errors: int  # failed, refused (4xx/5xx) or timed out
    p50_seconds: float | None
    p99_seconds: float | None
    p999_seconds: float | None
    max_seconds: float | None

    @classmethod
    def of(cls, rate: float, sent: int, latencies: Sequence[float], errors: int) -> ClientLatency:
        ordered = sorted(latencies)
        return cls(rate, sent, len(ordered), errors, nearest_rank(ordered, 0.5),
                   nearest_rank(ordered, 0.99), nearest_rank(ordered, 0.999),
                   ordered[-1] if ordered else None)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
