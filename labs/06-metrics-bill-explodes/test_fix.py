"""Lab 06, the fix exercise: the campaign clicks must keep a bounded number of series,
whatever pages the clicks come from, and still count every click per campaign.

This test fails until the fix is made. Check your fix with::

    labctl lab check 06 --fix
"""

from prometheus_client import CollectorRegistry

from leaky_app.links.campaigns import CampaignClicks

CAMPAIGNS = ["spring", "summer", "autumn"]


def series(registry: CollectorRegistry) -> int:
    return sum(1 for family in registry.collect() if family.name == "leaky_app_campaign_clicks"
               for s in family.samples if s.name.endswith("_total"))  # fmt: skip


def test_clicks_from_many_pages_do_not_make_new_series() -> None:
    registry = CollectorRegistry()
    clicks = CampaignClicks(registry)
    clicks.use_placement("page")  # the release, as the fault rolls it out
    for i in range(3000):
        query = f"utm_campaign={CAMPAIGNS[i % 3]}&utm_id={i}&gclid=x{i}"
        clicks.count_click(query, f"https://blog{i % 50}.example/post/{i}?ref=feed")
    made = series(registry)
    assert made <= 100, (
        f"3000 clicks from 3000 pages made {made} series: a label takes a value from traffic "
        "that has no bound, so every click can add a series to every scrape"
    )
    totals = {t.campaign: t.clicks for t in clicks.totals()}
    assert totals == dict.fromkeys(CAMPAIGNS, 1000)  # every click is still counted
