"""Use cases of the shortener, shared by every API version.

Usage::

    service = LinkService(store, cache, clicks, metrics)
    link = await service.create("https://example.org", alias=None, ttl_seconds=3600)
    target = await service.resolve(link.code)     # counts a click
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from prometheus_client import CollectorRegistry

from leaky_app.links.activity import ClickActivity
from leaky_app.links.alias_claims import AliasClaims
from leaky_app.links.audit import RedirectAudit
from leaky_app.links.cache import CachedTarget, ReadCache
from leaky_app.links.campaigns import CampaignClicks
from leaky_app.links.click_stream import ClickStream
from leaky_app.links.clicks import ClickBuffer
from leaky_app.links.codes import new_code
from leaky_app.links.events import ClickEvents
from leaky_app.links.exports import ClickExports
from leaky_app.links.ownership import check_key
from leaky_app.links.preview import Previews
from leaky_app.links.referrers import ReferrerLog
from leaky_app.links.reputation import ReputationClient
from leaky_app.links.safety import BlockedTarget, UrlSafety
from leaky_app.links.store import CodeTaken, Link, LinkStore
from leaky_app.metrics import Metrics

_CODE_ATTEMPTS = 5
EXPIRED = "link expired"


class LinkNotFound(Exception):
    def __init__(self, code: str, reason: str = "no such link") -> None:
        super().__init__(f"{reason}: {code}")
        self.code = code
        self.reason = reason


class AliasNeedsOwner(Exception):
    def __init__(self) -> None:
        super().__init__("a custom alias costs credits: owner_email says who pays")


@dataclass
class ClickFeatures:
    """What else happens on a click. Each feature is off until configured."""

    referrers: ReferrerLog = field(default_factory=ReferrerLog)
    events: ClickEvents = field(default_factory=ClickEvents)
    previews: Previews = field(default_factory=Previews)
    audit: RedirectAudit = field(default_factory=RedirectAudit)
    reputation: ReputationClient = field(default_factory=ReputationClient)
    campaigns: CampaignClicks = field(default_factory=lambda: CampaignClicks(CollectorRegistry()))
    exports: ClickExports = field(default_factory=lambda: ClickExports(Path("run/exports")))
    activity: ClickActivity = field(init=False)  # the consumer of ``events``

    def __post_init__(self) -> None:
        self.activity = ClickActivity(self.events)


class LinkService:
    def __init__(
        self,
        store: LinkStore,
        cache: ReadCache,
        clicks: ClickBuffer,
        metrics: Metrics,
        features: ClickFeatures | None = None,
        on_staged: Callable[[], None] = lambda: None,
        stream: ClickStream | None = None,
        safety: UrlSafety | None = None,
        claims: AliasClaims | None = None,
    ) -> None:
        self.store = store
        self.claims = claims or AliasClaims(store)  # every custom alias is paid for (the saga)
        self.safety = safety  # the reputation service's checks, when one is configured
        self.stream = stream  # live subscribers (websockets) hear of every click
        self._on_staged = on_staged  # a notice was staged in the outbox
        self.cache = cache
        self.clicks = clicks
        self.features = features or ClickFeatures()
        self._found = metrics.redirects.labels(result="found")
        self._missing = metrics.redirects.labels(result="missing")
        self._expired = metrics.redirects.labels(result="expired")

    async def create(
        self, url: str, alias: str | None, ttl_seconds: int | None, owner_email: str | None = None
    ) -> Link:
        """Store a new link; with an owner, its "link created" email is staged with it. A
        custom alias is claimed through the saga, whichever route asks: it costs the owner a
        credit (:class:`AliasNeedsOwner` without one). With a reputation service configured,
        the URL is vetted first, before any credit is taken: ``UnsafeUrl`` or
        ``SafetyUnavailable`` (new links fail closed)."""
        if self.safety is not None:
            await self.safety.vet_new(url)
        if alias is not None:
            if owner_email is None:
                raise AliasNeedsOwner
            return self._created(await self.claims.claim(alias, url, owner_email, ttl_seconds))
        for _ in range(_CODE_ATTEMPTS):
            link = Link.new(new_code(), url, ttl_seconds, owner_email=owner_email)
            try:
                await self.store.insert(link)
            except CodeTaken:
                continue
            return self._created(link)
        raise RuntimeError(f"no free code after {_CODE_ATTEMPTS} attempts")

    def _created(self, link: Link) -> Link:
        if link.owner_email is not None:
            self._on_staged()
        return link

    async def resolve(self, code: str, referrer: str | None = None, query: str = "") -> str:
        """The URL to redirect to; counts the click. Raises :class:`LinkNotFound`."""
        now = time.time()
        try:
            target = await self._target(code, now)
        except LinkNotFound as unknown:
            (self._expired if unknown.reason == EXPIRED else self._missing).inc()
            raise
        screening = self.features.reputation
        if screening.screens():
            refusal = screening.screen(target.url)
            if refusal is not None:
                raise BlockedTarget(f"the link's target is refused: {refusal}")
        elif self.safety is not None:
            await self.safety.vet_redirect(target.url)  # BlockedTarget; fails open otherwise
        self.clicks.record(code, now)
        if self.stream is not None:
            self.stream.publish(code, target.url, now)
        self._on_click(code, target.url, referrer, query, now)
        self._found.inc()
        return target.url

    async def preview(self, code: str, query: str = "") -> bytes:
        """The link's preview page (``/{code}+``), with the visitor's query on its Continue
        link; not a click. Raises :class:`LinkNotFound`."""
        target = await self._target(code, time.time())
        if self.safety is not None:
            await self.safety.vet_redirect(target.url)  # no Continue link to a refused host
        return self.features.previews.page(code, target.url, query)

    async def _target(self, code: str, now: float) -> CachedTarget:
        target = self.cache.get(code)
        if target is None:
            link = await self.store.get(code)
            if link is None:
                raise LinkNotFound(code)
            target = CachedTarget(url=link.url, expires_at=link.expires_at)
            self.cache.put(code, target)
        if target.expires_at is not None and target.expires_at <= now:
            raise LinkNotFound(code, EXPIRED)
        return target

    def _on_click(self, code: str, url: str, referrer: str | None, query: str, now: float) -> None:
        features = self.features
        page = features.referrers.record(referrer)
        features.events.publish(code, now)
        features.audit.record(code)
        features.campaigns.count_click(query, referrer)
        features.exports.append(code, now, page)

    async def get(self, code: str) -> Link:
        """The link with its click count, including clicks not yet flushed."""
        async with self.clicks.settled():
            link = await self.store.get(code)
            pending = self.clicks.pending(code)
        if link is None:
            raise LinkNotFound(code)
        if link.expired(time.time()):
            raise LinkNotFound(code, EXPIRED)
        if pending is not None:
            link = replace(link, clicks=link.clicks + pending.count, last_click_at=pending.last_at)
        return link

    async def delete(self, code: str, key: str | None) -> None:
        """Delete the link, given its management key (:mod:`leaky_app.links.ownership`)."""
        link = await self.store.get(code)
        if link is None:
            raise LinkNotFound(code)
        check_key(key, link.key_hash)  # KeyRequired (401) or WrongKey (403)
        if not await self.store.delete(code):
            raise LinkNotFound(code)
        self.cache.discard(code)
        self.clicks.discard(code)
        self.features.exports.discard(code)
