"""``GET /{code}``: the hot path. A cache hit costs no query; the click is buffered."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from leaky_app.api.schemas import REDIRECT_RESPONSES, api_router
from leaky_app.links.service import LinkNotFound
from leaky_app.services import Services, get_services

router = api_router("", "redirect")
MAX_CODE_LENGTH = 32


@router.get(
    "/{code}", response_class=RedirectResponse, status_code=302, responses=REDIRECT_RESPONSES
)
async def follow(
    code: str, request: Request, services: Annotated[Services, Depends(get_services)]
) -> str:
    # 302, not 301: browsers cache a 301 forever and the click would never be counted again.
    if len(code) > MAX_CODE_LENGTH:
        raise LinkNotFound(code[:MAX_CODE_LENGTH] + "...")
    return await services.links.resolve(code, request.headers.get("referer"), request.url.query)
