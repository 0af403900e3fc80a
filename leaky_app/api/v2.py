"""API v2: a resource shape with nested target and click stats, RFC 3339 timestamps.

The same use cases as v1 (:mod:`leaky_app.links.service`), rendered differently; v2 answers
with the full resource on create, and adds ``last_click_at`` to the stats. It also serves
the "where do clicks come from" panel and the marketing dashboard's clicks per campaign::

    curl -s 'http://127.0.0.1:8000/api/v2/referrers?limit=5'
    curl -s 'http://127.0.0.1:8000/api/v2/campaigns'
    curl -s 'http://127.0.0.1:8000/api/v2/links/abc/activity'
    curl -s -H 'Authorization: Bearer KEY' 'http://127.0.0.1:8000/api/v2/links/abc/clicks.csv'
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Response
from pydantic import BaseModel

from leaky_app.api.schemas import (
    CHANGE_RESPONSES,
    CREATE_RESPONSES,
    READ_RESPONSES,
    CreateLink,
    ManagementKey,
    api_router,
    created_links,
)
from leaky_app.links.activity import MinuteCount
from leaky_app.links.campaigns import CampaignCount
from leaky_app.links.ownership import bearer, check_key
from leaky_app.links.referrers import MAX_TOP, TOP, ReferrerCount
from leaky_app.links.store import Link
from leaky_app.services import Services, get_services

router = api_router("/api/v2", "v2")
ServicesDep = Annotated[Services, Depends(get_services)]


class Target(BaseModel):
    url: str


class ClickStats(BaseModel):
    clicks: int
    last_click_at: datetime | None


class LinkV2(BaseModel):
    code: str
    short_url: str
    target: Target
    created_at: datetime
    expires_at: datetime | None
    stats: ClickStats


class CreatedV2(LinkV2):
    management_key: str  # shown this once: deleting the link needs it


def _ts(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def _render(link: Link, base_url: str) -> LinkV2:
    return LinkV2(
        code=link.code,
        short_url=f"{base_url}/{link.code}",
        target=Target(url=link.url),
        created_at=datetime.fromtimestamp(link.created_at, tz=UTC),
        expires_at=_ts(link.expires_at),
        stats=ClickStats(clicks=link.clicks, last_click_at=_ts(link.last_click_at)),
    )


@router.post(
    "/links",
    status_code=201,
    operation_id="v2_create_link",
    responses={**CREATE_RESPONSES, 201: created_links("v2")},
)
async def create_link(body: CreateLink, services: ServicesDep) -> CreatedV2:
    link = await services.links.create(body.url, body.alias, body.ttl_seconds, body.owner_email)
    services.metrics.links_created.labels(api_version="v2").inc()
    resource = _render(link, services.settings.base_url)
    return CreatedV2(**resource.model_dump(), management_key=link.management_key or "")


@router.get("/links/{code}", operation_id="v2_get_link", responses=READ_RESPONSES)
async def get_link(code: str, services: ServicesDep) -> LinkV2:
    return _render(await services.links.get(code), services.settings.base_url)


class LinkActivity(BaseModel):
    code: str
    # The link's clicks per minute over the last hour, oldest first; minutes without a click
    # are left out. ``minute`` is the minute's start, seconds since the epoch.
    minutes: list[MinuteCount]


@router.get("/links/{code}/activity", operation_id="v2_link_activity", responses=READ_RESPONSES)
async def link_activity(code: str, services: ServicesDep) -> LinkActivity:
    """The sparkline of the link's stats page: its clicks per minute over the last hour."""
    link = await services.links.get(code)  # LinkNotFound: 404
    activity = services.links.features.activity
    return LinkActivity(code=link.code, minutes=activity.of(link.code, time.time()))


@router.get(
    "/links/{code}/clicks.csv",
    operation_id="v2_link_clicks_csv",
    response_class=Response,
    responses={
        **CHANGE_RESPONSES,
        200: {
            "description": "a header, then a row per click: clicked_at (seconds since the epoch)"
            " and referrer (the page, as the referrer panel counts it), oldest first",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
async def link_clicks_csv(
    code: str, services: ServicesDep, authorization: ManagementKey = None
) -> Response:
    """The link's click export, for its owner's spreadsheet: every click since it was made.
    Only with the link's management key: the referring pages are the owner's business."""
    link = await services.links.get(code)  # LinkNotFound: 404
    check_key(bearer(authorization), link.key_hash)  # KeyRequired (401) or WrongKey (403)
    # Read in a thread: a busy link's export is large, and the loop serves the redirects.
    body = await asyncio.to_thread(services.links.features.exports.read, link.code)
    disposition = f'attachment; filename="clicks-{link.code}.csv"'
    return Response(body, media_type="text/csv", headers={"Content-Disposition": disposition})


@router.delete(
    "/links/{code}", status_code=204, operation_id="v2_delete_link", responses=CHANGE_RESPONSES
)
async def delete_link(
    code: str, services: ServicesDep, authorization: ManagementKey = None
) -> Response:
    """Delete the link: only with its management key (returned when it was created)."""
    await services.links.delete(code, bearer(authorization))
    return Response(status_code=204)


class ReferrerPanel(BaseModel):
    window: int  # the panel covers the service's last ``window`` clicks
    clicks: int  # clicks in the window now (fewer than ``window`` after a start)
    # Each: the referring page (scheme, host, path) or "direct", and its clicks. Most clicks
    # first, ties by address.
    referrers: list[ReferrerCount]


@router.get("/referrers", operation_id="v2_referrers")
async def referrers(
    services: ServicesDep, limit: Annotated[int, Query(ge=1, le=MAX_TOP)] = TOP
) -> ReferrerPanel:
    """The referring pages of the service's recent clicks, ranked by clicks."""
    log = services.links.features.referrers
    return ReferrerPanel(
        window=log.window,
        clicks=log.clicks,
        referrers=log.top(limit),
    )


class CampaignPanel(BaseModel):
    # Each: the campaign (utm_campaign lower-cased; "none" without one; "other" past the
    # bound on names) and its clicks since the start. Most clicks first, ties by name.
    campaigns: list[CampaignCount]


@router.get("/campaigns", operation_id="v2_campaigns")
async def campaigns(services: ServicesDep) -> CampaignPanel:
    """Clicks per campaign since the service started, as the marketing dashboard shows them."""
    return CampaignPanel(campaigns=services.links.features.campaigns.totals())
