"""Lab 06, the fix exercise: the campaign click counter must keep a bounded number of series,
whatever the query strings and referrers the clicks bring, and still count every click.

This test fails until the fix is made. Check your fix with::

    labctl lab check 06 --fix
"""

from prometheus_client import CollectorRegistry

from leaky_app.links.campaigns import CampaignTracker

CODES = ["spring", "summer", "autumn"]


def series_and_total(registry: CollectorRegistry) -> tuple[int, float]:
    samples = [s for family in registry.collect() if family.name == "leaky_app_campaign_clicks"
               for s in family.samples if s.name.endswith("_total")]  # fmt: skip
    return len(samples), sum(s.value for s in samples)


def test_unique_query_strings_do_not_make_new_series() -> None:
    registry = CollectorRegistry()
    tracker = CampaignTracker(registry)
    tracker.configure(3)  # the dashboard's full drill-down
    try:
        for i in range(3000):
            query = f"utm_campaign={CODES[i % 3]}&utm_id={i}&gclid=x{i}"
            tracker.count_click(CODES[i % 3], query, f"https://ref{i}.example/")
        series, total = series_and_total(registry)
    finally:
        tracker.close()
    assert series <= 100, (
        f"3000 clicks on 3 links made {series} series: a label takes raw query strings or "
        "referrers, so every click can add a series to every scrape"
    )
    assert total == 3000  # every click is still counted
