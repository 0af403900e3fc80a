"""API v1: flat responses, timestamps in Unix seconds."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response
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
from leaky_app.links.ownership import bearer
from leaky_app.links.store import Link
from leaky_app.services import Services, get_services

router = api_router("/api/v1", "v1")
ServicesDep = Annotated[Services, Depends(get_services)]


class CreatedV1(BaseModel):
    code: str
    short_url: str
    url: str
    expires_at: float | None
    management_key: str  # shown this once: deleting the link needs it


class LinkV1(BaseModel):
    code: str
    short_url: str
    url: str
    created_at: float
    expires_at: float | None
    clicks: int


@router.post(
    "/links",
    status_code=201,
    operation_id="v1_create_link",
    responses={**CREATE_RESPONSES, 201: created_links("v1")},
)
async def create_link(body: CreateLink, services: ServicesDep) -> CreatedV1:
    link = await services.links.create(body.url, body.alias, body.ttl_seconds, body.owner_email)
    services.metrics.links_created.labels(api_version="v1").inc()
    return CreatedV1(
        code=link.code,
        short_url=f"{services.settings.base_url}/{link.code}",
        url=link.url,
        expires_at=link.expires_at,
        management_key=link.management_key or "",
    )


def _render(link: Link, base_url: str) -> LinkV1:
    return LinkV1(
        code=link.code,
        short_url=f"{base_url}/{link.code}",
        url=link.url,
        created_at=link.created_at,
        expires_at=link.expires_at,
        clicks=link.clicks,
    )


@router.get("/links/{code}", operation_id="v1_get_link", responses=READ_RESPONSES)
async def get_link(code: str, services: ServicesDep) -> LinkV1:
    return _render(await services.links.get(code), services.settings.base_url)


@router.delete(
    "/links/{code}", status_code=204, operation_id="v1_delete_link", responses=CHANGE_RESPONSES
)
async def delete_link(
    code: str, services: ServicesDep, authorization: ManagementKey = None
) -> Response:
    """Delete the link: only with its management key (returned when it was created)."""
    await services.links.delete(code, bearer(authorization))
    return Response(status_code=204)
