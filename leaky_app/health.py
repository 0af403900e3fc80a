"""Health endpoints (seed Q367).

* ``/livez``: the process is up and its event loop turns. Never checks dependencies, so a
  database outage does not make the orchestrator restart a healthy process.
* ``/readyz``: dependencies answer; 503 with the reason for each failing check, so a load
  balancer stops sending traffic and a human sees why. A mail server outage is reported under
  ``degraded`` but keeps the service ready: redirects do not need SMTP, and the notices wait
  in the outbox. Taking the shortener out of rotation for an email outage would turn a
  partial failure into a full one. Redis, when configured, is reported the same way: without
  it each instance limits clients with its own token bucket, and no instance runs the
  scheduled jobs (none can be sure it is the only leader); redirects and link creation go on.
  The reputation service, when configured, too: while its breaker is open new links are
  refused (503) and redirects go through unchecked.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from redis.exceptions import RedisError

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
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await services.store.ping()
        checks["database"] = "ok"
    except StoreUnavailable as exc:
        checks["database"] = str(exc)
    except TimeoutError:
        checks["database"] = f"no answer within {CHECK_TIMEOUT_SECONDS} s"
    ready = all(v == "ok" for v in checks.values())
    degraded: dict[str, str] = {}
    breaker = services.notifier.mailer.breaker_state
    if breaker != "closed":
        degraded["smtp"] = (
            f"circuit breaker {breaker}: the mail server fails; "
            f"{services.notifier.relay.inflight} notices in flight, the rest wait in the outbox"
        )
    if services.safety is not None:
        problem = services.safety.problem()
        if problem is not None:
            degraded["reputation"] = problem
    if services.redis is not None:
        problem = await _redis_problem(services.redis)
        if problem is not None:
            degraded["redis"] = (
                f"{problem}: each instance rate-limits with its own bucket, "
                "and no instance runs the scheduled jobs until Redis answers"
            )
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks, "degraded": degraded},
        status_code=200 if ready else 503,
    )


async def _redis_problem(redis: Redis) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await redis.ping()
    except TimeoutError:
        return f"redis: no answer within {CHECK_TIMEOUT_SECONDS} s"
    except RedisError as exc:
        return f"redis: {exc}"
    return None
