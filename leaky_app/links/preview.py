"""The link preview page, ``/{code}+``: where a short link goes, before anyone goes there.

As with other shorteners, a ``+`` after the code shows the target instead of redirecting to
it. Mail scanners and chat unfurlers fetch it for every link they see, and careful people open
it by hand. The page names the target's site, shows a QR code of the short link (to continue
on a phone, or to print), and a Continue button to the target that keeps the visitor's
campaign query, as the redirect does.

Usage::

    previews = Previews("https://sho.rt")
    page = previews.page("abc123", "https://shop.example/item/1", "utm_campaign=spring")

Two ways of keeping rendered work, one release flag (``use_cache``): :class:`CardPages` keeps
each link's card (:class:`LinkCards`) and adds the visitor's query on every request;
:class:`FinishedPages` also keeps each page whole, by the address it was asked for. Both serve
the same bytes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import segno
from cachetools import LRUCache

MAX_CARDS = 512  # the links being shared at once; a card is about 6 KiB

_STYLE = """
:root{color-scheme:light dark;--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--accent:#0969da}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink)}
header{padding:12px 24px;border-bottom:1px solid var(--line);display:flex;gap:8px}
header svg{width:24px;height:24px}
main{max-width:560px;margin:32px auto;padding:0 24px}
h1{font-size:20px;margin:0 0 8px}
.target{word-break:break-all;color:var(--muted);font-family:ui-monospace,monospace}
.qr{display:flex;gap:16px;align-items:center;margin:24px 0}
.qr svg{border:1px solid var(--line);border-radius:6px}
.go{display:inline-block;padding:10px 20px;border-radius:6px;background:var(--accent);
color:#fff;text-decoration:none;font-weight:600}
footer{max-width:560px;margin:48px auto;padding:0 24px;font-size:13px;color:var(--muted)}
@media (prefers-color-scheme:dark){:root{--ink:#e6edf3;--muted:#8d96a0;--line:#30363d}}
"""
_LOGO = (
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M10.6 13.4a1 1'
    " 0 0 1 0-1.4l3.5-3.5a3 3 0 1 1 4.2 4.2l-2 2a1 1 0 1 1-1.4-1.4l2-2a1 1 0 1 0-1.4-1.4l-3.5"
    ' 3.5a1 1 0 0 1-1.4 0z"/></svg>'
)


@dataclass(frozen=True, slots=True)
class Card:
    """A link's page around its Continue link: ``head + href + tail`` is the page."""

    head: bytes
    tail: bytes


def render_card(code: str, target: str, short_url: str) -> Card:
    """The page's parts that depend on the link alone. The QR code costs a few milliseconds."""
    qr = segno.make(short_url, error="m")
    site = html.escape(urlsplit(target).hostname or target)
    shown = html.escape(target)
    head = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{code} goes to {site}</title>"
        f'<meta property="og:title" content="A link to {site}">'
        f'<meta property="og:url" content="{html.escape(short_url)}">'
        '<meta name="robots" content="noindex">'
        f"<style>{_STYLE}</style></head><body>"
        f"<header>{_LOGO}<strong>Link preview</strong></header><main>"
        f"<h1>This link goes to {site}</h1><p class=target>{shown}</p>"
        f"<div class=qr>{qr.svg_inline(scale=4, title='QR code of ' + short_url)}"
        f'<a download="{code}.png" href="{qr.png_data_uri(scale=16)}">PNG for print</a>'
        f'<a download="{code}.svg" href="{qr.svg_data_uri(scale=16)}">SVG</a>'
        '</div><a class=go rel="noopener nofollow" href="'
    ).encode()
    tail = (
        '">Continue</a></main><footer>Short link '
        f'<a href="{html.escape(short_url)}">{html.escape(short_url)}</a>, no tracking on this'
        " page. Think this link is abuse? Reply to the mail it came in, or write to the"
        " service's operator.</footer></body></html>"
    ).encode()
    return Card(head, tail)


def continue_href(target: str, query: str) -> bytes:
    """The target with the visitor's query added, as the redirect sends it, escaped for the
    page."""
    if query:
        target += ("&" if urlsplit(target).query else "?") + query
    return html.escape(target).encode()


class LinkCards:
    """Each link's :class:`Card`, for the last ``max_cards`` links previewed."""

    def __init__(self, short_base: str, max_cards: int = MAX_CARDS) -> None:
        self.short_base = short_base
        self._cards: LRUCache[tuple[str, str], Card] = LRUCache(maxsize=max_cards)

    def card(self, code: str, target: str) -> Card:
        card = self._cards.get((code, target))
        if card is None:
            card = self._cards[code, target] = render_card(code, target, self.short_base + code)
        return card

    def __len__(self) -> int:
        return len(self._cards)


class PageCache(Protocol):
    """How finished pages are kept between requests."""

    def page(self, code: str, target: str, query: str) -> bytes: ...

    def entries(self) -> int: ...


class CardPages:
    """Pages made on each request from the link's card: the query is each visitor's own."""

    def __init__(self, cards: LinkCards) -> None:
        self.cards = cards

    def page(self, code: str, target: str, query: str) -> bytes:
        card = self.cards.card(code, target)
        return card.head + continue_href(target, query) + card.tail

    def entries(self) -> int:
        return len(self.cards)


class FinishedPages:
    """Each page kept whole, by the address it was asked for, so a page is put together once.
    Keeps at most ``max_bytes`` of pages; past that, pages are made and not kept."""

    def __init__(self, cards: LinkCards, max_bytes: int) -> None:
        self.cards = cards
        self.max_bytes = max_bytes
        self._pages: dict[tuple[str, str, str], bytes] = {}
        self._bytes = 0

    def page(self, code: str, target: str, query: str) -> bytes:
        key = (code, target, query)
        page = self._pages.get(key)
        if page is None:
            card = self.cards.card(code, target)
            page = card.head + continue_href(target, query) + card.tail
            if self._bytes + len(page) <= self.max_bytes:
                self._pages[key] = page
                self._bytes += len(page)
        return page

    def entries(self) -> int:
        return len(self._pages)


class Previews:
    """The preview pages of every link, kept as the release flag says (``cards`` by default).

    ``short_base`` is the service's public base URL: the QR code is of the short link."""

    def __init__(
        self, short_base: str = "http://127.0.0.1:8000", max_bytes: int = 256 * 1024 * 1024
    ) -> None:
        self.cards = LinkCards(short_base.rstrip("/") + "/")
        self.max_bytes = max_bytes
        self._cache: PageCache = CardPages(self.cards)

    def use_cache(self, kind: str) -> None:
        """Switch how pages are kept. Finished pages are dropped when switching to cards:
        they are made from the links, so nothing is lost, and the next request makes them."""
        if kind == "cards":
            self._cache = CardPages(self.cards)
        elif kind == "pages":
            self._cache = FinishedPages(self.cards, self.max_bytes)
        else:
            raise ValueError(f"no page cache {kind!r}: cards or pages")

    def page(self, code: str, target: str, query: str) -> bytes:
        return self._cache.page(code, target, query)

    def entries(self) -> int:
        return self._cache.entries()
