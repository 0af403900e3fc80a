"""Lab 01, the fix exercise: the landing-page cache must stop growing when every click brings
a query string it has not seen (campaign tags, tracking ids), while it keeps serving pages.

This test fails until the fix is made. Check your fix with::

    labctl lab check 01 --fix
"""

import gc
import tracemalloc

from leaky_app.links.landing import LandingPageRenderer


def kept_bytes(renderer: LandingPageRenderer, clicks: range) -> int:
    """Memory still allocated after rendering one page per click, each with its own query."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    for i in clicks:
        assert renderer.preview("https://shop.example/p", f"utm_id={i}") is not None
    gc.collect()
    return tracemalloc.get_traced_memory()[0] - before


def test_memory_stops_growing_when_every_query_string_is_new() -> None:
    renderer = LandingPageRenderer()
    renderer.page_kib = 4
    tracemalloc.start()
    try:
        first = kept_bytes(renderer, range(0, 3000))
        second = kept_bytes(renderer, range(3000, 6000))  # as many new pages again
    finally:
        tracemalloc.stop()
        renderer.clear()
    page = 4 * 1024
    # Bounded: the second 3000 pages keep (almost) nothing more. Unbounded: 3000 pages more.
    assert second < 300 * page, (
        f"3000 more distinct query strings kept {second / 2**20:.1f} MiB more "
        f"(after {first / 2**20:.1f} MiB for the first 3000): the cache keeps every page "
        "it ever rendered"
    )


def test_a_page_is_still_rendered_for_its_target() -> None:
    renderer = LandingPageRenderer()
    renderer.page_kib = 1
    try:
        page = renderer.preview("https://shop.example/p", "utm_id=7")
        assert page is not None and b"https://shop.example/p" in page
        assert renderer.preview("https://shop.example/p", "utm_id=7") == page
    finally:
        renderer.clear()
