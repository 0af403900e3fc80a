"""Request bodies shared by every API version."""

from __future__ import annotations

from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Depends, Header
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from leaky_app.links.codes import ALIAS_SCHEMA, check_alias
from leaky_app.links.service import AliasNeedsOwner
from leaky_app.links.urls import check_target_url, url_schema
from leaky_app.services import rate_limit

MAX_URL_LENGTH = 2048
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600
MAX_EMAIL_LENGTH = 254


def _owner_email(value: str) -> str:
    # pydantic's EmailStr refuses special-use domains (example.test, x.local): a client
    # generated from "format: email" sends them, and the lab's mail goes to its own sink.
    try:
        return validate_email(
            value, check_deliverability=False, globally_deliverable=False, test_environment=True
        ).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from exc


def _not_a_bool(value: object) -> object:
    # pydantic's lax int takes true as 1; JSON Schema's integer does not, so neither do we.
    if isinstance(value, bool):
        raise ValueError("must be a whole number of seconds, not true or false")
    return value


TtlSeconds = Annotated[
    int,
    BeforeValidator(_not_a_bool),
    Field(ge=1, le=MAX_TTL_SECONDS),
    # Spelled out: with a validator in front, pydantic writes "ge"/"le", which JSON Schema lacks.
    WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_TTL_SECONDS}),
]

OwnerEmail = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH),
    AfterValidator(_owner_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": MAX_EMAIL_LENGTH}),
]


class CreateLink(BaseModel):
    # A custom alias costs its owner a credit, as on POST /api/v1/aliases: the spec says so too.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"alias": {"type": "string"}}, "required": ["alias"]},
            "then": {
                "properties": {"owner_email": {"type": "string"}},
                "required": ["owner_email"],
            },
        },
    )

    url: str = Field(
        description="http(s) URL to redirect to",
        examples=["https://example.org"],
        json_schema_extra=url_schema(MAX_URL_LENGTH),
    )
    alias: str | None = Field(
        default=None,
        json_schema_extra=ALIAS_SCHEMA,
        description="custom code instead of a random one; costs owner_email a credit (402 when"
        " none is left), as on POST /api/v1/aliases",
    )
    ttl_seconds: TtlSeconds | None = Field(
        default=None, description="seconds until the link expires"
    )
    owner_email: OwnerEmail | None = Field(
        default=None,
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


class ErrorBody(BaseModel):
    """The one shape of every refusal (:mod:`leaky_app.errors`)."""

    error: str = Field(description="a stable code, e.g. alias_taken")
    message: str = Field(description="a sentence saying what is wrong")
    request_id: str | None = Field(default=None, description="quote it when reporting")


def _refusal(description: str) -> dict[str, Any]:
    return {"description": description, "model": ErrorBody}


# Every route of a router: what any request may get (the spec's own 422 would describe
# FastAPI's shape, not ours).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: _refusal("the request does not validate; the message names the field and why"),
    429: _refusal("rate limited: retry after Retry-After seconds"),
}
READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: _refusal("no such link, or it expired"),
}
REDIRECT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **READ_RESPONSES,
    403: _refusal("the target's host was refused by the reputation service since"),
}
CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _refusal("the body is not valid JSON"),
    402: _refusal("the alias's owner has no credit left"),
    409: _refusal("the alias is taken or being claimed"),
    503: _refusal("the URL could not be checked for safety (new links fail closed)"),
}
CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _refusal("no management key was sent"),
    403: _refusal("the key is not this link's"),
    404: _refusal("no such link"),
}


def api_router(prefix: str = "", tag: str = "") -> APIRouter:
    """A router of the public API: the per-client rate limit, and the refusals any of its
    routes may give documented."""
    return APIRouter(prefix=prefix, tags=[tag] if tag else [],
                     dependencies=[Depends(rate_limit)], responses=COMMON_RESPONSES)  # fmt: skip


def created_links(version: str) -> dict[str, Any]:
    """The 201 of a link's creation, with OpenAPI links to what a client does next with it:
    read it, see its preview page and its click export, and delete it with the management key
    it was given (stateful fuzzing follows them, so the key-checked route is reached with a
    real key)."""
    code = {"code": "$response.body#/code"}
    return {
        "description": "the link, and its management key (shown this once)",
        "links": {
            "GetLink": {"operationId": f"{version}_get_link", "parameters": code},
            "PreviewLink": {"operationId": "preview_link", "parameters": code},
            "ClickExport": {
                "operationId": "v2_link_clicks_csv",
                "parameters": {
                    **code,
                    "header.Authorization": "Bearer {$response.body#/management_key}",
                },
            },
            "DeleteLink": {
                "operationId": f"{version}_delete_link",
                "parameters": {
                    **code,
                    "header.Authorization": "Bearer {$response.body#/management_key}",
                },
            },
        },
    }
