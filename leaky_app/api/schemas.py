"""Request bodies shared by every API version."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from leaky_app.links.codes import check_alias
from leaky_app.links.service import AliasNeedsOwner
from leaky_app.links.urls import check_target_url

MAX_URL_LENGTH = 2048
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600


class CreateLink(BaseModel):
    # A custom alias costs its owner a credit, as on POST /api/v1/aliases: the spec says so too.
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"dependentRequired": {"alias": ["owner_email"]}}
    )

    url: str = Field(description="http(s) URL to redirect to", examples=["https://example.org"])
    alias: str | None = Field(
        default=None,
        description="custom code instead of a random one; costs owner_email a credit (402 when"
        " none is left), as on POST /api/v1/aliases",
    )
    ttl_seconds: int | None = Field(
        default=None, ge=1, le=MAX_TTL_SECONDS, description="seconds until the link expires"
    )
    owner_email: EmailStr | None = Field(
        default=None,
        max_length=254,
        description="who is emailed when the link is created and crosses click milestones",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_target_url(value, MAX_URL_LENGTH)

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str | None) -> str | None:
        return None if value is None else check_alias(value)

    @model_validator(mode="after")
    def _alias_has_an_owner(self) -> CreateLink:
        if self.alias is not None and self.owner_email is None:
            raise ValueError(str(AliasNeedsOwner()))
        return self


# The management key of a link, for the routes that change it (leaky_app/links/ownership.py).
ManagementKey = Annotated[
    str | None,
    Header(
        alias="Authorization",
        description="'Bearer <management_key>': the key returned when the link was created",
    ),
]
ERROR_SHAPE = {"error": "code", "message": "a sentence", "request_id": "id"}


def _refusal(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": ERROR_SHAPE}}}


CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    402: _refusal("the alias's owner has no credit left"),
    409: _refusal("the alias is taken or being claimed"),
    503: _refusal("the URL could not be checked for safety (new links fail closed)"),
}
CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _refusal("no management key was sent"),
    403: _refusal("the key is not this link's"),
    404: _refusal("no such link"),
}
