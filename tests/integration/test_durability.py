"""Links acknowledged with 201 survive ``kill -9`` of the service mid-flight, so do their
emails, and an alias claim killed between its steps is compensated after the restart."""

import sqlite3
import threading
from contextlib import closing
from functools import partial
from pathlib import Path

import httpx
import pytest

from labctl.stack.processes import ProcessRecord, kill_hard, stop
from leaky_app.links.alias_claims import STEPS
from tests.integration.load import OwnedLinks, load, scrape
from tests.live import launch
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


def test_acknowledged_links_survive_kill_9(tmp_path: Path) -> None:
    service = launch(tmp_path)
    acknowledged: list[str] = []
    stop_writing = threading.Event()

    def writer() -> None:
        with httpx.Client(base_url=service.url, timeout=5) as client:
            i = 0
            while not stop_writing.is_set() and i < 5000:
                i += 1
                try:
                    response = client.post("/api/v1/links", json={"url": f"https://d.org/{i}"})
                except httpx.TransportError:
                    return  # the server died under us: expected
                if response.status_code == 201:
                    acknowledged.append(response.json()["code"])

    thread = threading.Thread(target=writer)
    try:
        thread.start()
        eventually_sync(lambda: len(acknowledged) >= 200, "200 links written under load")
        kill_hard(service.record)  # mid-flight: the writer is still posting
        stop_writing.set()
        thread.join(timeout=30)
        assert not thread.is_alive()
        restarted = launch(tmp_path)
        try:
            with restarted.client() as client:
                missing = [
                    code
                    for code in acknowledged
                    if client.get(f"/api/v1/links/{code}").status_code != 200
                ]
            assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged links lost"
        finally:
            restarted.stop()
    finally:
        stop_writing.set()
        service.stop()


def test_every_acknowledged_links_email_arrives_after_kill_9(tmp_path: Path) -> None:
    """The outbox's at-least-once promise (seed Q377): the link row and its notice commit
    together, and a notice is marked sent only after the SMTP server accepted it, so killing
    the service mid-flight loses no email; the idempotency key keeps duplicates countable."""
    service = launch(tmp_path)
    try:
        with OwnedLinks(service.url, per_second=100) as writer:
            eventually_sync(lambda: len(writer.codes) >= 150, "150 owned links under load")
            kill_hard(service.record)  # mid-flight: links posting, emails in the queue
        stop(service.sink)
        acknowledged = set(writer.codes)
        restarted = launch(tmp_path)
        try:

            def mailed() -> set[str]:
                keys = restarted.mailbox.delivered_keys()
                return {k.split(":")[1] for k in keys if k.startswith("link_created:")}

            eventually_sync(
                lambda: acknowledged <= mailed(),
                "every acknowledged link's email delivered after the restart",
                deadline_s=60,
            )
            keys = [m.idempotency_key for m in restarted.mailbox.messages()]
            # Duplicates are allowed (at-least-once) and visible as repeated keys.
            assert len(set(keys)) >= len(acknowledged)
        finally:
            restarted.stop()
    finally:
        service.stop()


def _dead(record: ProcessRecord) -> bool:
    return not record.alive()


def _claims_on_disk(run_dir: Path, owner: str) -> tuple[list[str], dict[str, int], set[str], int]:
    """What the saga left in the store, read as a second SQLite reader: reservations, the net
    ledger per alias, the owner's links, and the owner's balance."""
    with closing(sqlite3.connect(f"file:{run_dir / 'leaky_app.db'}?mode=ro", uri=True)) as db:
        reservations = [r[0] for r in db.execute("SELECT alias FROM alias_reservations")]
        net: dict[str, int] = {}
        for reason, delta in db.execute(
            "SELECT reason, delta FROM credit_ledger WHERE owner_email = ?", (owner,)
        ):
            alias = reason.split()[-1]  # "claim a", "refund a", "refund (recovered) a"
            net[alias] = net.get(alias, 0) + delta
        links = {r[0] for r in db.execute("SELECT code FROM links WHERE owner_email = ?", (owner,))}
        row = db.execute("SELECT balance FROM credits WHERE owner_email = ?", (owner,)).fetchone()
    return reservations, net, links, row[0] if row else 3


def test_a_kill_9_at_each_step_of_an_alias_claim_is_recovered_after_restart(
    tmp_path: Path,
) -> None:
    """Seed Q363 across a crash: the service kills itself (SIGKILL) right after a step of the
    saga commits, under redirect load; the next process compensates what it left half done."""
    owner, timeout = "crash@example.org", ["--alias-claim-timeout-seconds", "1"]
    crashed: list[str] = []
    for step in (*STEPS, None):
        service = launch(tmp_path, timeout + (["--crash-after-claim-step", step] if step else []))
        try:
            # The previous process's half-done claim is gone: none is left reserved or paid.
            eventually_sync(
                lambda: _claims_on_disk(tmp_path, owner)[0] == [], "recovery after the restart"
            )
            _, net, links, balance = _claims_on_disk(tmp_path, owner)
            for alias in crashed:
                paid = alias == "crash-activate"  # its link committed with its debit
                assert (alias in links, net.get(alias, 0)) == (paid, -1 if paid else 0), alias
            assert balance == 3 - len(links)
            undone = {"crash-reserve": "released", "crash-debit": "refunded"}
            if crashed and crashed[-1] in undone:
                outcome = (
                    f'leaky_app_alias_claims_recovered_total{{outcome="{undone[crashed[-1]]}"}}'
                )
                assert scrape(service.metrics_url).get(outcome) == 1
            if step is None:
                break
            with service.client() as client:
                code = client.post("/api/v1/links", json={"url": "https://e.org"}).json()["code"]
            with load(service.url, [code], threads=2) as traffic:
                eventually_sync(lambda: traffic.stats.requests > 50, "redirects under way")
                with pytest.raises(httpx.TransportError), service.client() as client:
                    client.post(
                        "/api/v1/aliases",
                        json={
                            "alias": f"crash-{step}",
                            "url": "https://e.org",
                            "owner_email": owner,
                        },
                    )
            eventually_sync(partial(_dead, service.record), f"killed after {step}")
            crashed.append(f"crash-{step}")
            if step != "activate":  # the crash left the claim half done
                assert f"crash-{step}" in _claims_on_disk(tmp_path, owner)[0]
        finally:
            service.stop()
    assert crashed == [f"crash-{step}" for step in STEPS]
