"""Claiming a custom alias, as a saga (seed Q363).

Three steps, each its own transaction, as they would be in three services, each with a
compensation that undoes it::

    1. reserve the alias          <- release the reservation
    2. debit the owner's credits  <- credit them back (a ledger entry, never a silent edit)
    3. activate: create the link  (the last step: it commits all or nothing)

When a step fails, the compensations of the steps already done run in reverse order, so no
partial state remains: no reservation without a link, no debit without an alias. Each step is
a single SQL statement whose condition makes the check and the change one atomic act (the
reservation's primary key, ``balance >= cost`` in the UPDATE), so concurrent claims of one
alias, or one owner's last credit, cannot both win across an ``await`` (seed Q378).

Written by hand: the saga libraries on PyPI are tied to message brokers or workflow engines;
three steps in one process need a list of (action, compensation) pairs, not a framework.

Usage::

    claims = AliasClaims(store, starting_credits=3)
    link = await claims.claim("spring-sale", "https://shop.example", "o@example.org")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from leaky_app.links.store import CodeTaken, Link, LinkStore

log = logging.getLogger(__name__)


STEPS = ("reserve", "debit", "activate")
Failpoint = Callable[[str], Awaitable[None]]


class AliasUnavailable(Exception):
    def __init__(self, alias: str) -> None:
        super().__init__(f"alias {alias!r} is already taken or being claimed")
        self.alias = alias


class InsufficientCredits(Exception):
    def __init__(self, owner: str, cost: int) -> None:
        super().__init__(f"claiming an alias costs {cost} credit(s); none left for this owner")
        self.owner = owner


@dataclass(frozen=True)
class _Step:
    name: str
    action: Callable[[], Awaitable[None]]
    compensate: Callable[[], Awaitable[None]]


async def _no_failure(_step: str) -> None:
    return None


class AliasClaims:
    def __init__(
        self,
        store: LinkStore,
        starting_credits: int = 3,
        cost: int = 1,
        failpoint: Failpoint = _no_failure,
    ) -> None:
        self.store = store
        self.db = store.db
        self.starting_credits = starting_credits
        self.cost = cost
        # Called before each step commits; tests raise from it to fail a step in turn.
        self.failpoint = failpoint

    async def balance(self, owner: str) -> int:
        row = await self.db.fetchone("SELECT balance FROM credits WHERE owner_email = ?", (owner,))
        return self.starting_credits if row is None else int(row[0])

    async def claim(self, alias: str, url: str, owner: str, ttl_seconds: int | None = None) -> Link:
        """Run the saga; raises :class:`AliasUnavailable`, :class:`InsufficientCredits`, or the
        failing step's error after compensating the steps already done."""
        link = Link.new(alias, url, ttl_seconds, owner_email=owner)

        async def reserve() -> None:
            if await self.store.get(alias) is not None:
                raise AliasUnavailable(alias)
            async with self.db.transaction() as tx:
                inserted = await tx.execute(
                    "INSERT OR IGNORE INTO alias_reservations VALUES (?, ?, ?)",
                    (alias, owner, time.time()),
                )
                if not inserted:
                    raise AliasUnavailable(alias)
                await self.failpoint("reserve")

        async def release() -> None:
            await self.db.execute(
                "DELETE FROM alias_reservations WHERE alias = ? AND owner_email = ?",
                (alias, owner),
            )

        async def debit() -> None:
            async with self.db.transaction() as tx:
                await tx.execute(
                    "INSERT OR IGNORE INTO credits VALUES (?, ?)", (owner, self.starting_credits)
                )
                debited = await tx.execute(
                    "UPDATE credits SET balance = balance - ?"
                    " WHERE owner_email = ? AND balance >= ?",
                    (self.cost, owner, self.cost),
                )
                if not debited:
                    raise InsufficientCredits(owner, self.cost)
                await tx.execute(
                    "INSERT INTO credit_ledger (owner_email, delta, reason, at)"
                    " VALUES (?, ?, ?, ?)",
                    (owner, -self.cost, f"claim {alias}", time.time()),
                )
                await self.failpoint("debit")

        async def refund() -> None:
            async with self.db.transaction() as tx:
                await tx.execute(
                    "UPDATE credits SET balance = balance + ? WHERE owner_email = ?",
                    (self.cost, owner),
                )
                await tx.execute(
                    "INSERT INTO credit_ledger (owner_email, delta, reason, at)"
                    " VALUES (?, ?, ?, ?)",
                    (owner, self.cost, f"refund {alias}", time.time()),
                )

        async def activate() -> None:
            # One transaction: the link, its "created" notice and the reservation's release
            # commit together, so a failure here leaves no link and no email behind.
            try:
                async with self.db.transaction() as tx:
                    await self.store.insert_in(tx, link)
                    await tx.execute("DELETE FROM alias_reservations WHERE alias = ?", (alias,))
                    await self.failpoint("activate")
            except CodeTaken:
                raise AliasUnavailable(alias) from None

        async def nothing() -> None:
            return None  # the last step: once it committed, the saga is done

        steps = (
            _Step("reserve", reserve, release),
            _Step("debit", debit, refund),
            _Step("activate", activate, nothing),
        )
        done: list[_Step] = []
        try:
            for step in steps:
                await step.action()
                done.append(step)
        except BaseException:
            for step in reversed(done):
                try:
                    await step.compensate()
                except Exception:
                    # Left for an operator: the log line names the step and the alias.
                    log.exception("compensation %s failed for alias %s", step.name, alias)
            raise
        return link
