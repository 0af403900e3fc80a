"""The referrer panel: bounded to its window, pages not tracking ids, and the same ranking
whichever implementation keeps it, including across a switch between them."""

from hypothesis import given, settings
from hypothesis import strategies as st

from leaky_app.links.referrers import DIRECT, ReferrerLog, page_of

PAGES = st.sampled_from(
    [None, "", "https://news.example/item/1", "https://news.example/item/2?utm_source=x",
     "https://blog.example/", "http://blog.example/", "not a url", "https://a.example/p#f"]
)  # fmt: skip


def test_the_panel_covers_only_the_newest_clicks() -> None:
    log = ReferrerLog(window=3)
    for page in ["https://a.example/", "https://b.example/", "https://b.example/",
                 "https://c.example/", "https://c.example/"]:  # fmt: skip
        log.record(page)
    assert log.clicks == 3
    assert [(r.referrer, r.clicks) for r in log.top()] == [
        ("https://c.example/", 2), ("https://b.example/", 1),
    ]  # fmt: skip


def test_a_page_is_counted_without_its_query_string_and_no_referer_is_direct() -> None:
    assert page_of("https://news.example/item/7?click_id=991#top") == "https://news.example/item/7"
    assert page_of(None) == page_of("") == page_of("android-app") == DIRECT
    assert len(page_of("https://x.example/" + "p" * 5000)) == 200


@settings(max_examples=300, deadline=None)
@given(
    clicks=st.lists(PAGES, max_size=60),
    window=st.integers(min_value=1, max_value=12),
    switch_at=st.integers(min_value=0, max_value=60),
    limit=st.integers(min_value=1, max_value=15),
)
def test_both_rankings_give_the_same_panel_for_the_same_clicks(
    clicks: list[str | None], window: int, switch_at: int, limit: int
) -> None:
    tally, ready, switched = ReferrerLog(window), ReferrerLog(window), ReferrerLog(window)
    ready.use_ranking("ready")
    for n, page in enumerate(clicks):
        if n == switch_at:
            switched.use_ranking("ready")
        for log in (tally, ready, switched):
            log.record(page)
        assert tally.top(limit) == ready.top(limit) == switched.top(limit)
    assert sum(r.clicks for r in tally.top(window)) == min(len(clicks), window)
    switched.use_ranking("tally")
    assert switched.top(limit) == tally.top(limit)


def test_resizing_keeps_the_newest_clicks_and_the_ranking_in_use() -> None:
    log = ReferrerLog(window=10)
    log.use_ranking("ready")
    for n in range(10):
        log.record(f"https://r{n % 3}.example/")
    log.resize(4)
    assert log.ranking_name == "ready" and log.window == 4 and log.clicks == 4
    assert sum(r.clicks for r in log.top()) == 4
