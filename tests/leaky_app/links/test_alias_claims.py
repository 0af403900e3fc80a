"""The alias-claim saga leaves no partial state, whichever step fails, and concurrent claims
cannot both win (seeds Q363, Q378)."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from leaky_app.links.alias_claims import (
    STEPS,
    AliasClaims,
    AliasUnavailable,
    InsufficientCredits,
    Recovered,
)
from leaky_app.links.store import Link, LinkStore
from leaky_app.outbox import Outbox

OWNER = "o@example.org"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LinkStore]:
    s = await LinkStore.open(tmp_path / "a.db")
    try:
        yield s
    finally:
        await s.close()


async def state(store: LinkStore, alias: str, owner: str = OWNER) -> dict[str, object]:
    """Everything a claim can touch."""
    db = store.db
    reservations = await db.fetchall("SELECT alias FROM alias_reservations")
    ledger = await db.fetchall(
        "SELECT coalesce(sum(delta), 0) FROM credit_ledger WHERE owner_email = ?", (owner,)
    )
    notices = [r for r in await Outbox(db).pending(100) if r.payload.get("code") == alias]
    return {
        "link": await store.get(alias) is not None,
        "reservations": [r[0] for r in reservations],
        "balance": await AliasClaims(store).balance(owner),
        "ledger_total": ledger[0][0],
        "notices": len(notices),
    }


async def test_a_claim_creates_the_link_and_debits_once(store: LinkStore) -> None:
    link = await AliasClaims(store).claim("spring", "https://e.org", OWNER)
    assert link.code == "spring"
    assert await state(store, "spring") == {
        "link": True, "reservations": [], "balance": 2, "ledger_total": -1, "notices": 1,
    }  # fmt: skip


@pytest.mark.parametrize("failing", STEPS)
async def test_a_failure_at_any_step_leaves_nothing_behind(store: LinkStore, failing: str) -> None:
    async def fail(step: str) -> None:
        if step == failing:
            raise RuntimeError(f"{step} failed")

    with pytest.raises(RuntimeError, match=f"{failing} failed"):
        await AliasClaims(store, failpoint=fail).claim("spring", "https://e.org", OWNER)
    assert await state(store, "spring") == {
        "link": False, "reservations": [], "balance": 3, "ledger_total": 0, "notices": 0,
    }  # fmt: skip
    # And the alias can still be claimed afterwards.
    await AliasClaims(store).claim("spring", "https://e.org", OWNER)


async def test_a_taken_alias_or_no_credit_is_refused_cleanly(store: LinkStore) -> None:
    await store.insert(Link.new("taken", "https://e.org", None))
    with pytest.raises(AliasUnavailable):
        await AliasClaims(store).claim("taken", "https://e.org", OWNER)
    poor = AliasClaims(store, starting_credits=0)
    with pytest.raises(InsufficientCredits):
        await poor.claim("mine", "https://e.org", OWNER)
    after = await state(store, "mine")
    assert after["reservations"] == [] and after["link"] is False
    assert after["ledger_total"] == 0


async def test_concurrent_claims_of_one_alias_have_one_winner(store: LinkStore) -> None:
    claims = AliasClaims(store)
    owners = [f"o{i}@example.org" for i in range(20)]
    results = await asyncio.gather(
        *(claims.claim("hot", "https://e.org", o) for o in owners), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Link)]
    assert len(winners) == 1
    assert all(isinstance(r, AliasUnavailable) for r in results if not isinstance(r, Link))
    debits = await store.db.fetchall("SELECT coalesce(sum(delta), 0) FROM credit_ledger")
    assert debits[0][0] == -1  # losers were refunded or never debited


async def test_concurrent_claims_cannot_spend_one_credit_twice(store: LinkStore) -> None:
    claims = AliasClaims(store, starting_credits=1)
    results = await asyncio.gather(
        *(claims.claim(f"a{i}", "https://e.org", OWNER) for i in range(10)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Link) for r in results) == 1
    assert await claims.balance(OWNER) == 0


@pytest.mark.parametrize("crashed_after", ["reserve", "debit"])
async def test_recovery_undoes_a_claim_a_crash_stopped_and_the_claim_cannot_then_finish(
    store: LinkStore, crashed_after: str
) -> None:
    # The claim stops right after a step committed, as a process killed there would; unlike
    # a killed process, it is resumed once recovery ran, as a stalled claim would resume.
    stopped, resume = asyncio.Event(), asyncio.Event()

    async def stall(step: str) -> None:
        if step == crashed_after:
            stopped.set()
            await resume.wait()

    claims = AliasClaims(store, after_step=stall)
    claim = asyncio.create_task(claims.claim("spring", "https://e.org", OWNER))
    await asyncio.wait_for(stopped.wait(), 5)
    half_done = await state(store, "spring")
    assert half_done["reservations"] == ["spring"]
    assert half_done["balance"] == (2 if crashed_after == "debit" else 3)
    assert await claims.recover(older_than=60) == Recovered(released=0, refunded=0)  # too young
    recovered = await claims.recover(older_than=0)
    assert recovered == Recovered(
        released=int(crashed_after == "reserve"), refunded=int(crashed_after == "debit")
    )
    resume.set()
    with pytest.raises(AliasUnavailable):
        await claim
    assert await state(store, "spring") == {
        "link": False, "reservations": [], "balance": 3, "ledger_total": 0, "notices": 0,
    }  # fmt: skip
    assert await claims.recover(older_than=0) == Recovered(released=0, refunded=0)
