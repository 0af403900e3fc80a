"""``GET /api/v1/notifications``: the notifier's health in numbers, no addresses.

Dead letters themselves (with recipients) are on the debug port: ``/admin/dead-letters``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel

from leaky_app.api.schemas import api_router
from leaky_app.services import Services, get_services

router = api_router("/api/v1", "notifications")


class NotifierStatus(BaseModel):
    queued: int
    in_flight: int
    outbox_pending: int
    dead_letters: int
    breaker: str


@router.get("/notifications")
async def notifier_status(
    services: Annotated[Services, Depends(get_services)],
) -> NotifierStatus:
    pending, dead = await services.outbox.backlog()
    notifier = services.notifier
    return NotifierStatus(
        queued=notifier.queue.qsize(),
        in_flight=notifier.relay.inflight,
        outbox_pending=pending,
        dead_letters=dead,
        breaker=notifier.mailer.breaker_state,
    )
