"""Where clicks come from: the referring pages of the service's recent clicks, ranked.

Served at ``GET /api/v2/referrers`` (the "where do clicks come from" panel)::

    log = ReferrerLog()
    log.record("https://news.example/item/7?utm_source=x")   # kept as its page
    log.top(3)        # [ReferrerCount(referrer="https://news.example/item/7", clicks=1)]

The window is the last :data:`WINDOW` clicks of the whole service. Two rankings keep the
panel over the same window, and give the same answer; a release flag picks the one in use
(:meth:`ReferrerLog.use_ranking`):

- :class:`RunningTally` counts each page as it enters and leaves the window, and sorts on
  read;
- :class:`ReadyRanking` keeps the panel sorted after every click, so reading it costs
  nothing.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

WINDOW = 3000  # clicks the panel covers
TOP = 10
MAX_TOP = 100
DIRECT = "direct"  # a click with no Referer (typed, bookmarked, or from an app)
_MAX_REFERRER = 200  # characters kept of a page's address


@dataclass(frozen=True)
class ReferrerCount:
    referrer: str
    clicks: int


def page_of(referrer: str | None) -> str:
    """The referring page a click is counted under: scheme, host and path. Query strings and
    fragments are dropped: they carry visitors' tracking ids, not where the click came from."""
    if not referrer:
        return DIRECT
    parts = urlsplit(referrer)
    if not parts.scheme or not parts.netloc:
        return DIRECT
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:_MAX_REFERRER]


def _ranked(counts: Iterable[tuple[str, int]]) -> list[ReferrerCount]:
    # Most clicks first; ties by address, so every ranking gives the same order.
    return [ReferrerCount(r, n) for r, n in sorted(counts, key=lambda rn: (-rn[1], rn[0]))]


class Ranking(Protocol):
    def add(self, referrer: str, evicted: str | None) -> None: ...

    def top(self, limit: int) -> list[ReferrerCount]: ...


class RunningTally:
    """One count per page, moved as clicks enter and leave the window."""

    def __init__(self, window: collections.deque[str]) -> None:
        self._counts = collections.Counter(window)

    def add(self, referrer: str, evicted: str | None) -> None:
        self._counts[referrer] += 1
        if evicted is not None:
            self._counts[evicted] -= 1
            if not self._counts[evicted]:
                del self._counts[evicted]

    def top(self, limit: int) -> list[ReferrerCount]:
        return _ranked(self._counts.items())[:limit]


class ReadyRanking:
    """The panel as it is shown, rebuilt from the window after each click."""

    def __init__(self, window: collections.deque[str]) -> None:
        self._window = window
        self._panel: list[ReferrerCount] = []
        self.rebuild()

    def add(self, referrer: str, evicted: str | None) -> None:
        self.rebuild()

    def rebuild(self) -> None:
        pages: list[str] = []
        clicks: list[int] = []
        for referrer in self._window:
            if referrer in pages:
                clicks[pages.index(referrer)] += 1
            else:
                pages.append(referrer)
                clicks.append(1)
        self._panel = _ranked(zip(pages, clicks, strict=True))

    def top(self, limit: int) -> list[ReferrerCount]:
        return self._panel[:limit]


RANKINGS: dict[str, type[RunningTally] | type[ReadyRanking]] = {
    "tally": RunningTally,
    "ready": ReadyRanking,
}


class ReferrerLog:
    """The window of recent clicks' pages, and the ranking that keeps the panel."""

    def __init__(self, window: int = WINDOW) -> None:
        self._recent: collections.deque[str] = collections.deque(maxlen=window)
        self.ranking_name = "tally"
        self._ranking: Ranking = RunningTally(self._recent)

    @property
    def clicks(self) -> int:
        """Clicks in the window now (at most its length)."""
        return len(self._recent)

    @property
    def window(self) -> int:
        return self._recent.maxlen or 0

    def record(self, referrer: str | None) -> str:
        """Count the click's page in the window; returns the page (as the panel shows it)."""
        page = page_of(referrer)
        full = len(self._recent) == self._recent.maxlen
        evicted = self._recent[0] if full and self._recent else None
        self._recent.append(page)
        self._ranking.add(page, evicted)
        return page

    def top(self, limit: int = TOP) -> list[ReferrerCount]:
        return self._ranking.top(limit)

    def resize(self, window: int) -> None:
        """Cover the last ``window`` clicks from now on (the newest are kept)."""
        self._recent = collections.deque(self._recent, maxlen=window)
        self.use_ranking(self.ranking_name)

    def use_ranking(self, name: str) -> None:
        """Switch the ranking in use (``"tally"`` or ``"ready"``); it starts from the window
        as it stands, so the panel is unchanged by the switch."""
        self._ranking = RANKINGS[name](self._recent)
        self.ranking_name = name
