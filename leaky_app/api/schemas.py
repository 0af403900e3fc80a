"""Request bodies shared by every API version."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from leaky_app.links.codes import check_alias
from leaky_app.links.urls import check_target_url

MAX_URL_LENGTH = 2048
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600


class CreateLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="http(s) URL to redirect to", examples=["https://example.org"])
    alias: str | None = Field(default=None, description="custom code instead of a random one")
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


CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _refusal("no management key was sent"),
    403: _refusal("the key is not this link's"),
    404: _refusal("no such link"),
}
