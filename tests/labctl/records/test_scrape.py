"""A scrape of /metrics as a record, and histogram_quantile over a window of two."""

from labctl.records.scrape import Scrape, bucket_quantile

METRICS = """\
# TYPE leaky_app_cache_entries gauge
leaky_app_cache_entries{cache="links"} 20.0
leaky_app_cache_entries{cache="preview_page"} 5.0
# TYPE leaky_app_gc_pause_seconds histogram
leaky_app_gc_pause_seconds_bucket{generation="0",le="0.01"} 3.0
leaky_app_gc_pause_seconds_bucket{generation="0",le="+Inf"} 4.0
leaky_app_gc_pause_seconds_bucket{generation="2",le="0.01"} 0.0
leaky_app_gc_pause_seconds_bucket{generation="2",le="+Inf"} 2.0
leaky_app_gc_pause_seconds_count{generation="0"} 4.0
leaky_app_gc_pause_seconds_sum{generation="0"} 0.1
"""


def test_samples_are_summed_over_the_label_sets_that_match() -> None:
    scrape = Scrape.parse(METRICS, at=5.0)
    assert scrape.at == 5.0
    assert scrape.total("leaky_app_cache_entries") == 25.0
    assert scrape.total("leaky_app_cache_entries", cache="links") == 20.0
    assert scrape.value("leaky_app_cache_entries") == 25.0 and scrape.value("absent") is None
    assert scrape.buckets("leaky_app_gc_pause_seconds") == {0.01: 3.0, float("inf"): 6.0}
    assert scrape.buckets("leaky_app_gc_pause_seconds", generation="2") == {
        0.01: 0.0, float("inf"): 2.0,
    }  # fmt: skip


def test_a_quantile_past_the_last_finite_bucket_is_that_bound() -> None:
    assert bucket_quantile(0.99, {}, {0.5: 1.0, float("inf"): 100.0}) == 0.5
    assert (
        bucket_quantile(0.5, {0.5: 3.0, float("inf"): 3.0}, {0.5: 3.0, float("inf"): 3.0}) is None
    )
