"""Claiming a custom alias, as a saga (seed Q363).

Three steps, each its own transaction, as they would be in three services, each with a
compensation that undoes it::

    1. reserve the alias          <- release the reservation
    2. debit the owner's credits  <- credit them back (a ledger entry, never a silent edit)
    3. activate: create the link  (the last step: it commits all or nothing)

When a step fails, the compensations of the steps already done run in reverse order, so no
partial state remains: no reservation without a link, no debit without an alias. When the
process dies between steps, nothing runs them: the reservation row records how far its claim
got (``debited`` is set in the debit's own transaction), and :meth:`AliasClaims.recover`, at
start-up and then periodically, compensates every claim older than the claim timeout (there is
no URL left to complete it with). Activation deletes the reservation only if it is still there,
so a claim that recovery gave up on cannot then make its link without its debit. Each step is
a single SQL statement whose condition makes the check and the change one atomic act (the
reservation's primary key, ``balance >= cost`` in the UPDATE), so concurrent claims of one
alias, or one owner's last credit, cannot both win across an ``await`` (seed Q378).

Written by hand: the saga libraries on PyPI are tied to message brokers or workflow engines;
three steps in one process need a list of (action, compensation) pairs, not a framework.

Usage::

    claims = AliasClaims(store, starting_credits=3)
    link = await claims.claim("spring-sale", "https://shop.example", "o@example.org")
    await claims.recover(older_than=30.0)   # what a crash left half done
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import Counter

from leaky_app.db import Transaction
from leaky_app.links.store import CodeTaken, Link, LinkStore

log = logging.getLogger(__name__)


STEPS = ("reserve", "debit", "activate")
Failpoint = Callable[[str], Awaitable[None]]
StepDone = Callable[[str], Awaitable[None]]


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


def kill_after(crash_step: str) -> StepDone:
    """An ``after_step`` for crash tests (``--crash-after-claim-step``): kill -9 this process
    once ``crash_step`` has committed, as a crash between two steps would."""

    async def after(step: str) -> None:
        if step == crash_step:
            log.warning("crash_after_claim_step=%s: SIGKILL", step)
            os.kill(os.getpid(), signal.SIGKILL)

    return after


@dataclass(frozen=True)
class Recovered:
    """What :meth:`AliasClaims.recover` undid."""

    released: int  # reservations dropped that had taken no credit
    refunded: int  # reservations dropped whose credit went back


class AliasClaims:
    def __init__(
        self,
        store: LinkStore,
        starting_credits: int = 3,
        cost: int = 1,
        failpoint: Failpoint = _no_failure,
        after_step: StepDone | None = None,
    ) -> None:
        self.store = store
        self.db = store.db
        self.starting_credits = starting_credits
        self.cost = cost
        # Called before each step commits; tests raise from it to fail a step in turn.
        self.failpoint = failpoint
        # Awaited once each step has committed; crash tests kill the process there, or hold
        # the claim there while recovery runs.
        self.after_step = after_step or _no_failure

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
                    "INSERT OR IGNORE INTO alias_reservations (alias, owner_email, reserved_at)"
                    " VALUES (?, ?, ?)",
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
                still_ours = await tx.execute(
                    "UPDATE alias_reservations SET debited = 1 WHERE alias = ? AND owner_email = ?",
                    (alias, owner),
                )
                if not still_ours:  # recovery gave this claim up meanwhile: take nothing
                    raise AliasUnavailable(alias)
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
                await self._refund_in(tx, alias, owner, "refund")

        async def activate() -> None:
            # One transaction: the link, its "created" notice and the reservation's release
            # commit together, so a failure here leaves no link and no email behind.
            try:
                async with self.db.transaction() as tx:
                    ours = await tx.execute(
                        "DELETE FROM alias_reservations"
                        " WHERE alias = ? AND owner_email = ? AND debited = 1",
                        (alias, owner),
                    )
                    if not ours:  # recovery gave this claim up (and refunded it) meanwhile
                        raise AliasUnavailable(alias)
                    await self.store.insert_in(tx, link)
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
                await self.after_step(step.name)
        except BaseException:
            for step in reversed(done):
                try:
                    await step.compensate()
                except Exception:
                    # Left for an operator: the log line names the step and the alias.
                    log.exception("compensation %s failed for alias %s", step.name, alias)
            raise
        return link

    async def _refund_in(self, tx: Transaction, alias: str, owner: str, reason: str) -> bool:
        """Credit the claim back if its reservation says it was debited (and say it no longer
        is): a refund runs once, whether the saga or recovery asks first."""
        flipped = await tx.execute(
            "UPDATE alias_reservations SET debited = 0"
            " WHERE alias = ? AND owner_email = ? AND debited = 1",
            (alias, owner),
        )
        if not flipped:
            return False
        await tx.execute(
            "UPDATE credits SET balance = balance + ? WHERE owner_email = ?", (self.cost, owner)
        )
        await tx.execute(
            "INSERT INTO credit_ledger (owner_email, delta, reason, at) VALUES (?, ?, ?, ?)",
            (owner, self.cost, f"{reason} {alias}", time.time()),
        )
        return True

    async def recover(self, older_than: float) -> Recovered:
        """Compensate every claim reserved more than ``older_than`` seconds ago and not yet
        activated: a crash stopped it between steps (a live claim takes milliseconds)."""
        rows = await self.db.fetchall(
            "SELECT alias, owner_email FROM alias_reservations WHERE reserved_at <= ?",
            (time.time() - older_than,),
        )
        released = refunded = 0
        for alias, owner in rows:
            async with self.db.transaction() as tx:
                credited = await self._refund_in(tx, alias, owner, "refund (recovered)")
                dropped = await tx.execute(
                    "DELETE FROM alias_reservations WHERE alias = ? AND owner_email = ?",
                    (alias, owner),
                )
            refunded += credited
            released += bool(dropped) and not credited  # gone meanwhile: its claim finished
        if rows:
            log.warning(
                "recovered %d half-done alias claim(s), %d refunded", released + refunded, refunded
            )
        return Recovered(released=released, refunded=refunded)


@dataclass
class ClaimRecovery:
    """:meth:`AliasClaims.recover` as the scheduler's job (and the start-up pass), counted in
    ``recovered`` by outcome."""

    claims: AliasClaims
    older_than: float
    recovered: Counter

    async def run(self) -> int:
        done = await self.claims.recover(self.older_than)
        self.recovered.labels(outcome="released").inc(done.released)
        self.recovered.labels(outcome="refunded").inc(done.refunded)
        return done.released + done.refunded
