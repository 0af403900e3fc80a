from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from leaky_app.links.campaigns import (
    MAX_CAMPAIGNS,
    CampaignClicks,
    CampaignCount,
    campaign_name,
    site_kind,
)

CAMPAIGNS = st.sampled_from(["Spring", "summer", "", "x" * 41, "bad name", "c1"])
QUERIES = st.one_of(
    st.builds(lambda c, n: f"utm_campaign={c}&click_id={n}", CAMPAIGNS, st.integers(0, 10**6)),
    st.just(""),
    st.text(max_size=30),
)
REFERRERS = st.one_of(
    st.none(),
    st.sampled_from(["", "not a url", "https://www.google.com/search?q=a", "https://t.co/x"]),
    st.builds(lambda n: f"https://news.example/item/{n}?ref=a", st.integers(0, 500)),
)
CLICKS = st.lists(st.tuples(QUERIES, REFERRERS), max_size=300)


def sampled_series(registry: CollectorRegistry) -> set[tuple[str, str]]:
    return {
        (s.labels["campaign"], s.labels["placement"])
        for family in registry.collect()
        if family.name == "leaky_app_campaign_clicks"
        for s in family.samples
        if s.name.endswith("_total")
    }


@settings(max_examples=200, deadline=None)
@given(CLICKS, st.integers(0, 300), st.integers(5, 400))
def test_both_placements_give_the_same_clicks_per_campaign(
    clicks: list[tuple[str, str | None]], switch_at: int, max_series: int
) -> None:
    site_registry = CollectorRegistry()
    site = CampaignClicks(site_registry, max_series)
    page = CampaignClicks(CollectorRegistry(), max_series)
    page.use_placement("page")
    registry = CollectorRegistry()
    switched = CampaignClicks(registry, max_series)
    for i, (query, referrer) in enumerate(clicks):
        if i == switch_at:
            switched.use_placement("page")
        for counter in (site, page, switched):
            counter.count_click(query, referrer)
    switched.use_placement("site")  # the fault switched off: pages fold into their sites
    totals = site.totals()
    assert page.totals() == totals
    assert switched.totals() == totals
    assert sum(t.clicks for t in totals) == len(clicks)
    # After the fold only site series are left (and, past the cap, "other" ones).
    folded = sampled_series(registry)
    assert len(folded) == switched.series()
    assert folded - sampled_series(site_registry) <= {(c, "other") for c, _ in folded}


def test_pages_make_a_series_each_up_to_the_cap_and_sites_a_few() -> None:
    site = CampaignClicks(CollectorRegistry(), max_series=1000)
    page = CampaignClicks(CollectorRegistry(), max_series=1000)
    page.use_placement("page")
    for n in range(3000):
        for counter in (site, page):
            counter.count_click(f"utm_campaign=c{n % 7}&click_id={n}",
                                f"https://news.example/item/{n}")  # fmt: skip
    assert site.series() == 7
    assert 1000 <= page.series() <= 1000 + 7  # past the cap: one "other" series per campaign
    assert page.totals() == site.totals()
    assert site.totals()[0] == CampaignCount("c0", 429)


def test_campaign_names_are_bounded() -> None:
    clicks = CampaignClicks(CollectorRegistry())
    for n in range(MAX_CAMPAIGNS + 30):
        clicks.count_click(f"utm_campaign=spring{n}", None)
    names = {t.campaign for t in clicks.totals()}
    assert len(names) == MAX_CAMPAIGNS + 1
    assert "other" in names


def test_campaign_name_and_site_kind() -> None:
    assert campaign_name("utm_campaign=Spring%20&x=1") == "spring"
    assert campaign_name("x=1") == "none"
    assert campaign_name("utm_campaign=a%20b") == "other"
    assert campaign_name("utm_campaign=" + "a" * 41) == "other"
    assert site_kind("https://mail.google.com/mail/u/0") == "email"
    assert site_kind("https://www.google.com/search?q=x") == "search"
    assert site_kind("https://t.co/abc") == "social"
    assert site_kind("https://news.example/item/1") == "web"
    assert site_kind("https://notgoogle.com/") == "web"
    assert site_kind(None) == site_kind("not a url") == "direct"
