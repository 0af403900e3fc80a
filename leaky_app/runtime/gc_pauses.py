"""GC pause histogram by generation, from ``gc.callbacks`` (seed Q379).

CPython calls every callback with ``"start"`` and ``"stop"`` around each collection, in the
thread that triggered it and with the GIL held, so one start timestamp is enough.

Usage::

    recorder = GCPauseRecorder(metrics.gc_pause)
    recorder.install()
    ...
    recorder.uninstall()
"""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import Histogram


class GCPauseRecorder:
    def __init__(self, histogram: Histogram) -> None:
        self._by_generation = {gen: histogram.labels(generation=str(gen)) for gen in (0, 1, 2)}
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            self._by_generation[info["generation"]].observe(time.perf_counter() - self._started)
            self._started = 0.0

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
