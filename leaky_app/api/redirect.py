"""``GET /{code}``: the hot path. A cache hit costs no query; the click is buffered.

``GET /{code}+`` is the link's preview page: where the link goes, without going there."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leaky_app.api.schemas import REDIRECT_RESPONSES, api_router
from leaky_app.links.service import LinkNotFound
from leaky_app.services import Services, get_services

router = api_router("", "redirect")
MAX_CODE_LENGTH = 32


def _known_length(code: str) -> None:
    if len(code) > MAX_CODE_LENGTH:
        raise LinkNotFound(code[:MAX_CODE_LENGTH] + "...")


# Before /{code}, which would take "abc+" as a code. The plain response class keeps the
# refusals documented as JSON, which they are; the page is documented as HTML here.
@router.get(
    "/{code}+",
    response_class=Response,
    responses={
        **REDIRECT_RESPONSES,
        200: {
            "description": "the preview page",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
    },
    summary="The link's preview page",
    operation_id="preview_link",
)
async def preview(
    code: str, request: Request, services: Annotated[Services, Depends(get_services)]
) -> HTMLResponse:
    _known_length(code)
    page = await services.links.preview(code, request.url.query)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.get(
    "/{code}", response_class=RedirectResponse, status_code=302, responses=REDIRECT_RESPONSES
)
async def follow(
    code: str, request: Request, services: Annotated[Services, Depends(get_services)]
) -> str:
    # 302, not 301: browsers cache a 301 forever and the click would never be counted again.
    _known_length(code)
    return await services.links.resolve(code, request.headers.get("referer"), request.url.query)
