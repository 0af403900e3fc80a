"""One GC-tuning row from two scrapes and two GC reports of the same window (the four
settings side by side run live in notebook 05)."""

from dataclasses import replace

from labctl.course.gc_tuning import trial
from labctl.records.debug_views import GcReport, GenerationPauses
from labctl.records.scrape import Scrape

METRICS = """\
# TYPE leaky_app_http_requests counter
leaky_app_http_requests_total{{route="/{{code}}",status="302"}} {n}
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes {rss}
"""


def gc(counts: tuple[int, int, int], paused: tuple[float, float, float], frozen: int) -> GcReport:
    pauses = [
        GenerationPauses(g, counts[g], paused[g], 0.1, None, None,
                         {"0.01": counts[g], "0.1": 0, "+Inf": 0})  # per bucket, as /debug/gc
        for g in range(3)
    ]  # fmt: skip
    return GcReport(True, (700, 10, 10), frozen, 0, pauses, [])


def test_a_row_counts_the_window_between_its_two_readings() -> None:
    s0 = Scrape.parse(METRICS.format(n=100, rss=1e8), at=10.0)
    s1 = Scrape.parse(METRICS.format(n=400, rss=2e8), at=20.0)
    g0 = gc((50, 5, 1), (0.1, 0.2, 0.5), 0)
    g1 = gc((150, 15, 3), (0.3, 0.4, 1.3), 80_000)
    row = trial("raised", s0, g0, s1, g1)
    assert (row.requests, row.young_collections, row.full_collections) == (300, 100, 2)
    assert row.seconds == 10.0
    assert round(row.pause_share, 3) == 0.1  # (0.2 + 0.8) s of gen 1 and 2 in 10 s
    assert row.old_gen_pause_p99_seconds == 0.01 and row.rss_bytes == 2e8
    assert row.frozen_objects == 80_000 and row.request_p99_seconds is None


def test_with_a_window_the_pauses_are_the_measured_ones_not_bucket_bounds() -> None:
    s0 = Scrape.parse(METRICS.format(n=100, rss=1e8), at=10.0)
    s1 = Scrape.parse(METRICS.format(n=400, rss=2e8), at=20.0)
    g0 = gc((50, 5, 1), (0.1, 0.2, 0.5), 0)
    g1 = replace(gc((150, 15, 3), (0.3, 0.4, 1.3), 0),
                 recent=[(999.0, 2, 0.9), (1001.0, 1, 0.004), (1005.0, 2, 0.37),
                         (1009.5, 2, 0.41)])  # fmt: skip
    row = trial("default", s0, g0, s1, g1, window=(1000.0, 1010.0))
    # The one before the window is left out; the p99 of three is their largest.
    assert row.old_gen_pauses == 3 and row.old_gen_pause_p99_seconds == 0.41
    assert row.old_gen_pause_max_seconds == 0.41
