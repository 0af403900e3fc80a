"""``GET /metrics`` on the API port, only for a service run with ``--metrics-port 0`` (no
metrics thread): built on a worker thread, one scrape at a time, at most ``SCRAPES_PER_SECOND``
on average.

prometheus-client's own ASGI app (``make_asgi_app``) builds the page in the coroutine, on the
event loop: with many series (``cardinality_explosion``) each scrape stalls every request for
as long as it takes, and a flood of scrapes stalls the service. Building the page still holds
the GIL, so the rate limit is what bounds its share of the CPU; the thread bounds how long the
loop waits at a stretch (one GIL switch interval, 5 ms). With the metrics thread on, the API
port does not serve ``/metrics`` at all (404).

Usage::

    app.include_router(scrape_router(registry, rate_limited_counter))
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Header, Response
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.exposition import choose_encoder

from leaky_app.errors import error_response
from leaky_app.ratelimit import TokenBucketLimiter
from leaky_app.settings import RateLimitConfig

SCRAPES_PER_SECOND = 2.0  # Prometheus scrapes every 15 s, `labctl top` every 2 s
SCRAPE_BURST = 5
_ALL = "scrapers"  # one bucket for every client: what it bounds is the service's CPU


def scrape_router(registry: CollectorRegistry, refused: Counter) -> APIRouter:
    """The route; ``refused`` counts the 429s (the service's ``rate_limited`` counter)."""
    router = APIRouter()
    limiter = TokenBucketLimiter(RateLimitConfig(rps=SCRAPES_PER_SECOND, burst=SCRAPE_BURST))
    building = asyncio.Lock()
    refusals = refused.labels(route="/metrics")

    @router.get("/metrics", include_in_schema=False)
    async def metrics(accept: Annotated[str | None, Header()] = None) -> Response:
        decision = limiter.take(_ALL)
        if not decision.allowed or building.locked():
            refusals.inc()
            retry = decision.retry_after_header if not decision.allowed else "1"
            why = "over its rate limit" if not decision.allowed else "busy with another scrape"
            return error_response(
                429,
                "rate_limited",
                f"/metrics on the API port is {why}: retry after Retry-After seconds, or run"
                " the service with its metrics thread (--metrics-port)",
                {"Retry-After": retry},
            )
        encoder, content_type = choose_encoder(accept or "")
        async with building:
            page = await asyncio.to_thread(encoder, registry)
        return Response(page, headers={"Content-Type": content_type})

    return router
