"""The referrer log: bounded, and its recent window without duplicates, oldest first."""

from leaky_app.links.referrers import ReferrerLog


def test_the_log_keeps_only_the_newest_clicks() -> None:
    log = ReferrerLog(keep=3)
    for n in range(5):
        log.record(f"c{n}", None)
    assert [code for code, _, _ in log.distinct_recent(10)] == ["c2", "c3", "c4"]


def test_the_recent_window_has_no_duplicates_and_direct_clicks_are_named() -> None:
    log = ReferrerLog()
    log.record("abc", "https://news.example")
    log.record("abc", None)
    window = log.distinct_recent(2)
    assert [(code, ref) for code, ref, _ in window] == [
        ("abc", "https://news.example"), ("abc", "direct"),
    ]  # fmt: skip
    assert len(log.distinct_recent(2)) == 2
