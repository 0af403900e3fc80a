"""Preview pages: made from each link's card, or kept whole (the release), the same bytes."""

import functools
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaky_app.links.preview import Card, LinkCards, Previews, continue_href, render_card

TARGETS = ["https://shop.example/item/1", "https://news.example/a?ref=x", "https://e.org"]
BASE = "https://sho.rt"


@functools.cache  # a card costs milliseconds (its QR code); the examples reuse 12 of them
def card_of(code: str, target: str) -> Card:
    return render_card(code, target, f"{BASE}/{code}")


def expected(code: str, target: str, query: str) -> bytes:
    card = card_of(code, target)
    return card.head + continue_href(target, query) + card.tail


queries = st.one_of(
    st.just(""),
    st.builds(lambda c, n: f"utm_campaign=c{c}&click_id={n}", st.integers(0, 6), st.integers()),
    st.text(st.characters(codec="ascii", exclude_characters="#"), max_size=20),
)
visits = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(TARGETS), queries), max_size=30)


@settings(max_examples=60, deadline=None)
@given(visits=visits, switch_at=st.integers(0, 30))
def test_cards_finished_pages_and_a_switch_serve_the_same_pages(
    visits: list[tuple[int, str, str]], switch_at: int
) -> None:
    cards, pages, switched = Previews(BASE), Previews(BASE), Previews(BASE)
    pages.use_cache("pages")
    for n, (link, target, query) in enumerate(visits):
        if n == switch_at:
            switched.use_cache("pages")
        code = f"c{link}"
        want = expected(code, target, query)
        assert cards.page(code, target, query) == want
        assert pages.page(code, target, query) == want
        assert switched.page(code, target, query) == want
    switched.use_cache("cards")
    for link, target, query in visits:
        assert switched.page(f"c{link}", target, query) == expected(f"c{link}", target, query)


def test_the_continue_link_keeps_the_query_and_is_escaped() -> None:
    assert continue_href("https://e.org/a", "") == b"https://e.org/a"
    assert continue_href("https://e.org/a", "u=1") == b"https://e.org/a?u=1"
    assert continue_href("https://e.org/a?x=1", 'u="><b>') == (
        b"https://e.org/a?x=1&amp;u=&quot;&gt;&lt;b&gt;"
    )


def test_a_page_names_the_site_and_escapes_what_the_link_holds() -> None:
    page = Previews(BASE).page("abc", 'https://e.org/"><script>', "q=1").decode()
    assert "This link goes to e.org" in page and "<script>" not in page
    assert f"{BASE}/abc" in page and "<svg" in page


def test_cards_are_kept_for_the_last_links_only() -> None:
    cards = LinkCards(f"{BASE}/", max_cards=8)
    for n in range(20):
        cards.card(f"c{n}", "https://e.org")
    assert len(cards) == 8


def test_finished_pages_stop_keeping_at_their_budget_and_still_serve() -> None:
    previews = Previews(BASE, max_bytes=5 * len(expected("c", TARGETS[0], "n=0")) + 100)
    previews.use_cache("pages")
    for n in range(20):
        assert previews.page("c", TARGETS[0], f"n={n}") == expected("c", TARGETS[0], f"n={n}")
    assert previews.entries() == 5


def kept_per_preview(kind: str, visits: int = 400) -> float:
    previews = Previews(BASE)
    previews.use_cache(kind)
    previews.page("c", TARGETS[0], "")  # the card, made once either way
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for n in range(visits):
            previews.page("c", TARGETS[0], f"utm_campaign=c1&click_id={n}")
        grown = tracemalloc.take_snapshot().compare_to(before, "filename")
    finally:
        tracemalloc.stop()
    return sum(stat.size_diff for stat in grown) / visits


def test_kept_pages_hold_a_page_per_visit_and_cards_hold_nothing_more() -> None:
    page = len(expected("c", TARGETS[0], "utm_campaign=c1&click_id=1"))
    assert kept_per_preview("pages") > page
    assert kept_per_preview("cards") < 0.02 * page


def test_an_unknown_cache_is_refused() -> None:
    with pytest.raises(ValueError, match="cards or pages"):
        Previews().use_cache("all")
