"""``POST /api/v1/aliases``: claim a custom alias for credits (the saga, seed Q363).

201 with the link and the credits left; 409 when the alias is taken or being claimed; 402
when the owner has no credit left. A failure half-way is compensated: nothing is kept.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator

from leaky_app.api.schemas import (
    CREATE_RESPONSES,
    MAX_URL_LENGTH,
    OwnerEmail,
    TtlSeconds,
    api_router,
)
from leaky_app.links.codes import ALIAS_SCHEMA, check_alias
from leaky_app.links.urls import check_target_url, url_schema
from leaky_app.services import Services, get_services

router = api_router("/api/v1", "aliases")


class ClaimAlias(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alias: str = Field(description="the custom code to claim", json_schema_extra=ALIAS_SCHEMA)
    url: str = Field(
        description="http(s) URL to redirect to", json_schema_extra=url_schema(MAX_URL_LENGTH)
    )
    owner_email: OwnerEmail = Field(description="who pays, and is emailed")
    ttl_seconds: TtlSeconds | None = None

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str) -> str:
        return check_alias(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_target_url(value, MAX_URL_LENGTH)


class Claimed(BaseModel):
    code: str
    short_url: str
    url: str
    credits_left: int
    management_key: str  # shown this once: deleting the link needs it


@router.post("/aliases", status_code=201, responses=CREATE_RESPONSES)
async def claim_alias(
    body: ClaimAlias, services: Annotated[Services, Depends(get_services)]
) -> Claimed:
    # The same use case as an alias on POST /api/v1/links: vetted, then claimed (the saga).
    link = await services.links.create(body.url, body.alias, body.ttl_seconds, body.owner_email)
    return Claimed(
        code=link.code,
        short_url=f"{services.settings.base_url}/{link.code}",
        url=link.url,
        credits_left=await services.alias_claims.balance(body.owner_email),
        management_key=link.management_key or "",
    )
