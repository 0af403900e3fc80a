"""The objects a request handler may use, built once per app in its lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from redis.asyncio import Redis

from leaky_app.errors import ApiError
from leaky_app.faults import Switchboard
from leaky_app.hot_reload import ConfigWatcher
from leaky_app.leader import Leadership
from leaky_app.links.alias_claims import AliasClaims
from leaky_app.links.click_stream import ClickStream
from leaky_app.links.safety import UrlSafety
from leaky_app.links.service import LinkService
from leaky_app.links.store import LinkStore
from leaky_app.metrics import Metrics
from leaky_app.middleware.telemetry import route_template
from leaky_app.notify.notifier import Notifier
from leaky_app.outbox import Outbox
from leaky_app.ratelimit import RateLimiter
from leaky_app.settings import Settings


@dataclass
class Services:
    settings: Settings
    metrics: Metrics
    store: LinkStore
    links: LinkService
    limiter: RateLimiter
    config: ConfigWatcher
    switchboard: Switchboard
    outbox: Outbox
    alias_claims: AliasClaims
    notifier: Notifier
    leadership: Leadership
    click_stream: ClickStream
    redis: Redis | None = None  # when REDIS_URL is set
    safety: UrlSafety | None = None  # when a reputation service is configured


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    """FastAPI dependency. ``async`` on purpose: FastAPI runs a plain ``def`` dependency in
    its thread pool, a thread hop per request that cost ~30% of redirect throughput."""
    return services_of(request)


async def rate_limit(request: Request) -> None:
    """FastAPI dependency: one token per request from the client's bucket, else 429."""
    services = services_of(request)
    client = request.client.host if request.client else "unknown"
    decision = await services.limiter.take(client)
    if not decision.allowed:
        services.metrics.rate_limited.labels(route=route_template(request.scope)).inc()
        raise ApiError(
            429,
            "rate_limited",
            f"too many requests from {client}; retry after {decision.retry_after_header} s",
            headers={"Retry-After": decision.retry_after_header},
        )
