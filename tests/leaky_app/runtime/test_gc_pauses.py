import gc

from prometheus_client import CollectorRegistry

from leaky_app.metrics import Metrics
from leaky_app.runtime.gc_pauses import GCPauseRecorder


def test_each_collection_is_observed_in_its_generation() -> None:
    registry = CollectorRegistry()
    recorder = GCPauseRecorder(Metrics.create(registry, runtime_collectors=False).gc_pause)
    recorder.install()
    recorder.install()  # idempotent
    try:
        for _ in range(3):
            gc.collect(2)
        gc.collect(0)
    finally:
        recorder.uninstall()
    gc.collect(2)  # not observed any more

    def count(gen: int) -> float:
        value = registry.get_sample_value(
            "leaky_app_gc_pause_seconds_count", {"generation": str(gen)}
        )
        return value or 0.0

    assert count(2) == 3
    assert count(0) >= 1
    total = registry.get_sample_value("leaky_app_gc_pause_seconds_sum", {"generation": "2"})
    assert total is not None and total > 0


def test_recorder_can_listen_to_the_debug_surfaces_hook_instead_of_its_own() -> None:
    from leaky_app.debug.gcview import GCPauses

    registry = CollectorRegistry()
    source = GCPauses()
    recorder = GCPauseRecorder(Metrics.create(registry, runtime_collectors=False).gc_pause, source)
    hooks_before = len(gc.callbacks)
    recorder.install()
    assert len(gc.callbacks) == hooks_before  # it did not add a hook of its own
    source.install()
    try:
        gc.collect(2)
        gc.collect(2)
    finally:
        recorder.uninstall()
        gc.collect(2)  # the source still runs; the recorder no longer listens
        source.uninstall()
    count = registry.get_sample_value("leaky_app_gc_pause_seconds_count", {"generation": "2"})
    assert count == 2
    assert sum(source.buckets[2]) == 3
