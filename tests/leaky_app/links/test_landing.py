"""Landing page previews: off by default; on, one cached page per distinct query, up to
the lab's byte cap; cleared on demand."""

from leaky_app.links.landing import LandingPageRenderer


def test_previews_are_off_until_sized() -> None:
    renderer = LandingPageRenderer()
    assert renderer.preview("https://shop.example", "utm=a") is None and renderer.entries() == 0


def test_each_distinct_query_adds_a_cached_page_until_the_cap() -> None:
    renderer = LandingPageRenderer(max_bytes=10 * 1024)
    renderer.page_kib = 1
    try:
        page = renderer.preview("https://shop.example", "utm=a")
        assert page is not None and b"shop.example" in page and len(page) >= 1000
        renderer.preview("https://shop.example", "utm=a")  # the same page: no new entry
        assert renderer.entries() == 1
        for n in range(30):
            renderer.preview("https://shop.example", f"utm={n}")
        assert renderer.entries() == 10 and renderer.cached_bytes() == 10 * 1024  # capped
        assert renderer.preview("https://shop.example", "utm=new") is None
    finally:
        renderer.clear()
    assert renderer.entries() == 0 and renderer.page_kib == 0
