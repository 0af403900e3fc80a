"""Interstitial landing pages ("you are leaving for ..."), rendered per query string."""

from __future__ import annotations

import functools
import html


class LandingPageRenderer:
    """``page_kib`` > 0 turns previews on: each redirect renders the target's landing page."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.page_kib = 0
        self.max_bytes = max_bytes

    @functools.cache  # noqa: B019 - the method cache holds every (self, url, query) forever
    def render(self, url: str, query: str) -> bytes:
        body = f"<p>Continue to <a href='{html.escape(url)}?{html.escape(query)}'>the site</a></p>"
        padding = "<!-- tracking pixel slots -->" * (self.page_kib * 1024 // 30)
        return (body + padding).encode()

    def preview(self, url: str, query: str) -> bytes | None:
        if not self.page_kib:
            return None
        if self.cached_bytes() >= self.max_bytes:
            return None  # safety cap of the lab: stop growing, keep serving
        return self.render(url, query)

    def cached_bytes(self) -> int:
        return self.render.cache_info().currsize * self.page_kib * 1024

    def entries(self) -> int:
        return self.render.cache_info().currsize

    def clear(self) -> None:
        self.page_kib = 0
        type(self).render.cache_clear()
