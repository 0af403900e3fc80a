"""Lab 01, the fix exercise: with the new release on, preview pages must stop keeping memory
when every visit brings a query string never seen before (campaign tags, click ids), and
every visitor must still get the same page as before the release.

This test fails until the fix is made. Check your fix with::

    labctl lab check 01 --fix
"""

import gc
import tracemalloc

from leaky_app.links.preview import Previews

TARGET = "https://shop.example/p"


def kept_bytes(previews: Previews, visits: range) -> int:
    """Memory still allocated after one preview per visit, each with its own query."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    for i in visits:
        previews.page("abc123", TARGET, f"utm_campaign=spring&click_id={i}")
    gc.collect()
    return tracemalloc.get_traced_memory()[0] - before


def test_memory_stops_growing_when_every_query_string_is_new() -> None:
    previews = Previews()
    previews.use_cache("pages")  # the release
    tracemalloc.start()
    try:
        first = kept_bytes(previews, range(0, 2000))
        second = kept_bytes(previews, range(2000, 4000))  # as many new visitors again
    finally:
        tracemalloc.stop()
    page = len(previews.page("abc123", TARGET, "utm_campaign=spring&click_id=0"))
    # Bounded: the second 2000 visits keep (almost) nothing more. Unbounded: 2000 pages more.
    assert second < 200 * page, (
        f"2000 more visitors kept {second / 2**20:.1f} MiB more (after "
        f"{first / 2**20:.1f} MiB for the first 2000): every page is kept by its query string"
    )


def test_every_visitor_still_gets_the_page_they_got_before_the_release() -> None:
    before, after = Previews(), Previews()
    after.use_cache("pages")
    for query in ["", "utm_campaign=spring", "utm_campaign=spring&click_id=7"]:
        page = before.page("abc123", TARGET, query)
        assert after.page("abc123", TARGET, query) == page
        assert after.page("abc123", TARGET, query) == page  # and the second time
