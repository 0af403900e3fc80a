"""One row of the GC-tuning exercise: a setting measured over a window under lab 05's load."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from labctl.records.client_latency import ClientLatency


@dataclass(frozen=True)
class GcTrial:
    setting: str
    seconds: float
    requests: int
    request_p99_seconds: float | None  # the server's histogram: blind to time in the socket
    old_gen_pause_p99_seconds: float | None  # exact, from the pauses themselves
    full_collections: int  # generation 2
    young_collections: int  # generation 0
    pause_share: float  # of the window, in generation 1 and 2 collections
    rss_bytes: float | None
    frozen_objects: int  # in the permanent generation, out of every collection's walk
    pid: int | None = None  # the process measured
    client: ClientLatency | None = None  # an open-loop client's latency over the window
    old_gen_pause_max_seconds: float | None = None
    old_gen_pauses: int = 0  # generation 1 and 2 collections in the window

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
