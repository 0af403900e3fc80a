"""Clicks by campaign: the marketing dashboard's counter, served at ``GET /api/v2/campaigns``.

Every click is counted in ``leaky_app_campaign_clicks_total{campaign, placement}``::

    clicks = CampaignClicks(CollectorRegistry())
    clicks.count_click("utm_campaign=Spring&gclid=9", "https://www.google.com/search?q=x")
    clicks.totals()    # [CampaignCount(campaign="spring", clicks=1)]

The campaign is the query's ``utm_campaign``, lower-cased; the first :data:`MAX_CAMPAIGNS`
names seen keep their own label, later ones count as ``other``. The placement says where the
link was placed, and a release flag picks how (:meth:`CampaignClicks.use_placement`):

- :class:`SitePlacement`: the kind of site that sent the click (search, social, email, web,
  or direct);
- :class:`PagePlacement`: the referring page itself, so marketing sees which page works.

The API and the dashboard's panel read clicks per campaign, summed over placements, so both
give the same totals; switching folds the pages' counts into their sites' and nothing counted
is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CollectorRegistry, Counter

from leaky_app.links.referrers import page_of

MAX_CAMPAIGNS = 50
NO_CAMPAIGN = "none"  # a click whose query names no campaign
OTHER = "other"  # past a bound: a campaign name, or a series past ``max_series``
_CAMPAIGN_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
# A referring host's kind, by its name: (kind, hosts), the first that matches wins, so
# mail.google.com is email, not search.
_SITE_KINDS = (
    ("email", ("mail.google.com", "outlook.live.com", "mail.yahoo.com")),
    ("search", ("google.com", "bing.com", "duckduckgo.com", "search.yahoo.com", "yandex.ru")),
    ("social", ("facebook.com", "t.co", "x.com", "twitter.com", "linkedin.com", "reddit.com")),
)

_SITE_LABELS = {kind for kind, _ in _SITE_KINDS} | {"web", "direct", OTHER}


@dataclass(frozen=True)
class CampaignCount:
    campaign: str
    clicks: int


def campaign_name(query: str) -> str:
    """The ``utm_campaign`` of a click's query string: lower-cased, ``none`` when absent and
    ``other`` when it is not a name (40 characters at most, letters, digits, ``.-_``)."""
    names = parse_qs(query, max_num_fields=50).get("utm_campaign")
    if not names:
        return NO_CAMPAIGN
    name = names[0].strip().lower()
    return name if _CAMPAIGN_NAME.fullmatch(name) else OTHER


def site_kind(referrer: str | None) -> str:
    """The kind of site a referring address belongs to."""
    host = urlsplit(referrer).hostname if referrer else None
    if not host:
        return "direct"
    for kind, hosts in _SITE_KINDS:
        if any(host == s or host.endswith("." + s) for s in hosts):
            return kind
    return "web"


class Placement(Protocol):
    def of(self, referrer: str | None) -> str: ...


class SitePlacement:
    """A click placed by a kind of site: search, social, email, web, direct."""

    def of(self, referrer: str | None) -> str:
        return site_kind(referrer)


class PagePlacement:
    """A click placed by its referring page (scheme, host and path), or ``direct``."""

    def of(self, referrer: str | None) -> str:
        return page_of(referrer)


PLACEMENTS: dict[str, type[Placement]] = {"site": SitePlacement, "page": PagePlacement}
PlacementName = Literal["site", "page"]


class CampaignClicks:
    """The campaign counter; ``max_series`` caps its series (later ones count as ``other``)."""

    def __init__(self, registry: CollectorRegistry, max_series: int = 50_000) -> None:
        self.max_series = max_series
        self._clicks = Counter(
            "leaky_app_campaign_clicks",
            "Clicks by campaign and by where the link was placed.",
            ("campaign", "placement"),
            registry=registry,
        )
        self._campaigns: set[str] = set()
        self._series: set[tuple[str, str]] = set()
        self.placement: Placement = SitePlacement()

    def count_click(self, query: str, referrer: str | None) -> None:
        campaign = campaign_name(query)
        if campaign not in self._campaigns:
            if len(self._campaigns) < MAX_CAMPAIGNS:
                self._campaigns.add(campaign)
            else:
                campaign = OTHER
        key = (campaign, self.placement.of(referrer))
        if key not in self._series:
            if len(self._series) >= self.max_series:
                key = (campaign, OTHER)
            self._series.add(key)
        self._clicks.labels(*key).inc()

    def use_placement(self, name: PlacementName) -> None:
        """Count placements the named way from now on. Back to ``site``, every page's count
        is folded into its site's, so the totals stay and the page series go."""
        self.placement = PLACEMENTS[name]()
        if name != "site":
            return
        for (campaign, placement), clicks in self._counts().items():
            kind = placement if placement in _SITE_LABELS else site_kind(placement)
            if kind != placement:
                self._clicks.remove(campaign, placement)
                self._clicks.labels(campaign, kind).inc(clicks)
        self._series = set(self._counts())

    def _counts(self) -> dict[tuple[str, str], float]:
        return {
            (s.labels["campaign"], s.labels["placement"]): s.value
            for family in self._clicks.collect()
            for s in family.samples
            if s.name.endswith("_total")
        }

    def totals(self) -> list[CampaignCount]:
        """Clicks per campaign, summed over placements: most clicks first, ties by name."""
        summed: dict[str, float] = {}
        for (campaign, _), clicks in self._counts().items():
            summed[campaign] = summed.get(campaign, 0) + clicks
        ranked = sorted(summed.items(), key=lambda cn: (-cn[1], cn[0]))
        return [CampaignCount(campaign, int(clicks)) for campaign, clicks in ranked]

    def series(self) -> int:
        return len(self._series)
