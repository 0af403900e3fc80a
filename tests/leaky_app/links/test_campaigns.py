from prometheus_client import CollectorRegistry

from leaky_app.links.campaigns import CampaignTracker


def series(registry: CollectorRegistry) -> int:
    return sum(
        1
        for family in registry.collect()
        if family.name == "leaky_app_campaign_clicks"
        for s in family.samples
        if s.name.endswith("_total")
    )


def test_detail_levels_cap_and_close() -> None:
    registry = CollectorRegistry()
    tracker = CampaignTracker(registry, max_series=50)
    tracker.count_click("a", "q=1", None)
    assert series(registry) == 0  # off by default
    tracker.configure(2)
    for i in range(200):
        tracker.count_click("a", f"click_id={i}", "https://r.example")
    assert series(registry) == 50  # the cap holds
    tracker.configure(1)
    for code in "abc":
        tracker.count_click(code, "ignored", None)
    assert series(registry) == 3
    tracker.close()
    assert series(registry) == 0
