"""Health endpoints (seed Q367).

* ``/livez``: the process is up and its event loop turns. Never checks dependencies, so a
  database outage does not make the orchestrator restart a healthy process.
* ``/readyz``: dependencies answer; 503 with the reason for each failing check, so a load
  balancer stops sending traffic and a human sees why.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from leaky_app.links.store import StoreUnavailable
from leaky_app.services import Services, get_services

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 1.0


@router.get("/livez")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: Annotated[Services, Depends(get_services)]) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(services.store.ping(), CHECK_TIMEOUT_SECONDS)
        checks["database"] = "ok"
    except StoreUnavailable as exc:
        checks["database"] = str(exc)
    except TimeoutError:
        checks["database"] = f"no answer within {CHECK_TIMEOUT_SECONDS} s"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
