"""What a link's owner is told by email, as outbox events (seed Q365).

Two events: the link was created, and its click count crossed a milestone (10, 100, 1000,
...). Each key is unique per event and stable, so a notice staged or sent twice is still
one email for the owner (the SMTP sink counts distinct keys)::

    link_created(link)                        # OutboxEvent | None (no owner, no notice)
    milestones_crossed("abc", url, created_at, "o@example.org", before=8, after=12)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from leaky_app.outbox import OutboxEvent

if TYPE_CHECKING:
    from leaky_app.links.store import Link

LINK_CREATED = "link_created"
CLICK_MILESTONE = "click_milestone"
MILESTONES = (10, 100, 1_000, 10_000, 100_000, 1_000_000)


def _link_id(code: str, created_at: float) -> str:
    # A code can be deleted and reused; its creation time (ms) tells the two links apart.
    return f"{code}:{int(created_at * 1000)}"


def link_created(link: Link) -> OutboxEvent | None:
    if link.owner_email is None:
        return None
    return OutboxEvent(
        key=f"{LINK_CREATED}:{_link_id(link.code, link.created_at)}",
        kind=LINK_CREATED,
        recipient=link.owner_email,
        payload={"code": link.code, "url": link.url},
    )


def milestones_crossed(
    code: str, url: str, created_at: float, owner_email: str, *, before: int, after: int
) -> Iterator[OutboxEvent]:
    for milestone in MILESTONES:
        if before < milestone <= after:
            yield OutboxEvent(
                key=f"{CLICK_MILESTONE}:{_link_id(code, created_at)}:{milestone}",
                kind=CLICK_MILESTONE,
                recipient=owner_email,
                payload={"code": code, "url": url, "clicks": milestone},
            )


def render(kind: str, payload: dict[str, object]) -> tuple[str, str]:
    """``(subject, body)`` of the email for one event."""
    code = payload.get("code", "?")
    if kind == CLICK_MILESTONE:
        clicks = payload.get("clicks", "?")
        return (
            f"Your link /{code} reached {clicks} clicks",
            f"Your short link /{code} to {payload.get('url')} has now been clicked "
            f"{clicks} times.\n",
        )
    return (
        f"Your short link /{code} is ready",
        f"Your short link /{code} now redirects to {payload.get('url')}.\n",
    )
