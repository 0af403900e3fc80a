"""GC pause histogram by generation (seed Q379), fed by ``gc.callbacks``.

The timing lives in :class:`leaky_app.debug.gcview.GCPauses`; when the debug surface runs,
this recorder listens to its hook instead of installing a second one (each hook runs on every
collection).

Usage::

    recorder = GCPauseRecorder(metrics.gc_pause)                  # its own gc hook
    recorder = GCPauseRecorder(metrics.gc_pause, debug.pauses)    # or the debug surface's
    recorder.install()
    ...
    recorder.uninstall()
"""

from __future__ import annotations

from prometheus_client import Histogram

from leaky_app.debug.gcview import GCPauses


class GCPauseRecorder:
    def __init__(self, histogram: Histogram, source: GCPauses | None = None) -> None:
        self._by_generation = {gen: histogram.labels(generation=str(gen)) for gen in (0, 1, 2)}
        self._owns_source = source is None
        self._source = source if source is not None else GCPauses()
        self._installed = False

    def _observe(self, generation: int, seconds: float) -> None:
        self._by_generation[generation].observe(seconds)

    def install(self) -> None:
        if self._installed:
            return
        self._source.add_listener(self._observe)
        if self._owns_source:
            self._source.install()
        self._installed = True

    def uninstall(self) -> None:
        self._source.remove_listener(self._observe)
        if self._owns_source:
            self._source.uninstall()
        self._installed = False
