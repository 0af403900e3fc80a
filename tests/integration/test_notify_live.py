"""The notifier in the real service, mailing the real SMTP sink (seeds Q364, Q365, Q377)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from labctl.contract import RunLayout
from labctl.stack.mail_sink import start_sink
from labctl.stack.processes import stop
from tests.integration.load import OwnedLinks, scrape
from tests.live import LiveService, launch
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


def codes_mailed(service: LiveService, kind: str) -> set[str]:
    return {
        key.split(":")[1] for key in service.mailbox.delivered_keys() if key.startswith(f"{kind}:")
    }


def test_owners_get_a_created_and_a_milestone_email_each_once(live_service: LiveService) -> None:
    with live_service.client() as client:
        created = [
            client.post(
                "/api/v1/links", json={"url": f"https://e.org/{i}", "owner_email": "me@example.org"}
            ).json()["code"]
            for i in range(10)
        ]
        anonymous = client.post("/api/v1/links", json={"url": "https://e.org/anon"})
        for _ in range(10):
            assert client.get(f"/{created[0]}").status_code == 302
    eventually_sync(
        lambda: set(created) <= codes_mailed(live_service, "link_created"),
        "a 'link created' email for each owned link",
    )
    eventually_sync(
        lambda: created[0] in codes_mailed(live_service, "click_milestone"),
        "a milestone email after 10 clicks (click flush runs every second)",
    )
    assert anonymous.json()["code"] not in codes_mailed(live_service, "link_created")
    mine = [m for m in live_service.mailbox.messages() if m.rcpt_tos == ["me@example.org"]]
    keys = [m.idempotency_key for m in mine]
    assert len(keys) == len(set(keys)) == 11  # no duplicate sends in a healthy run
    with live_service.client() as client:
        status = client.get("/api/v1/notifications").json()
    assert status["breaker"] == "closed"
    assert "me@example.org" not in str(status)  # the public view has counts, no addresses


def test_bad_owner_email_is_refused_and_nothing_is_stored(live_service: LiveService) -> None:
    with live_service.client() as client:
        for bad in ("not-an-address", "a@b.org\r\nBcc: x@evil.example", "x" * 300 + "@e.org"):
            response = client.post(
                "/api/v1/links",
                json={"url": "https://e.org", "alias": "badowner", "owner_email": bad},
            )
            assert response.status_code == 422, response.text
            assert "owner_email" in response.json()["message"]
        assert client.get("/api/v1/links/badowner").status_code == 404


def test_dead_letters_are_listed_and_sent_again_over_the_admin_api(
    live_service: LiveService,
) -> None:
    with live_service.client() as client:
        code = client.post(
            "/api/v1/links",
            json={"url": "https://e.org", "owner_email": "gone+deadletter@example.org"},
        ).json()["code"]

    def dead_row() -> dict[str, object] | None:
        with live_service.debug_client() as debug:
            rows = debug.get("/admin/dead-letters", params={"limit": 1000}).json()["dead_letters"]
        return next((r for r in rows if r["payload"]["code"] == code), None)

    eventually_sync(lambda: dead_row() is not None, "the refused notice listed as a dead letter")
    row = dead_row()
    assert row is not None and "550" in str(row["last_error"])
    assert scrape(live_service.metrics_url)["leaky_app_notification_dead_letters"] >= 1
    with live_service.debug_client() as debug:
        assert debug.post(f"/admin/dead-letters/{row['id']}/retry").status_code == 200
        assert debug.post("/admin/dead-letters/999999999/retry").status_code == 404
        assert debug.post("/admin/dead-letters/abc/retry").status_code == 400
        assert debug.get("/admin/dead-letters", params={"limit": 0}).status_code == 400
    # Sent again, refused again (the mailbox still does not exist): dead once more.
    eventually_sync(lambda: (r := dead_row()) is not None and int(str(r["attempts"])) >= 2,
                    "the retried notice tried again")  # fmt: skip
    unauthenticated = httpx.get(f"{live_service.debug_url}/admin/dead-letters", timeout=10)
    assert unauthenticated.status_code == 401


def test_an_smtp_outage_opens_the_breaker_and_loses_nothing(tmp_path: Path) -> None:
    service = launch(
        tmp_path, ["--smtp-breaker-ttl-seconds", "1", "--notify-backoff-max-seconds", "1"]
    )
    try:
        stop(service.sink)  # SMTP goes down
        with OwnedLinks(service.url, per_second=30) as writer:
            eventually_sync(lambda: len(writer.codes) >= 60, "60 links created during the outage")
        metrics = scrape(service.metrics_url)
        assert metrics['leaky_app_circuit_breaker_state{breaker="smtp",state="open"}'] == 1
        assert metrics['leaky_app_smtp_sends_total{outcome="unreachable"}'] >= 5
        # Waiting in the bounded queue and in the outbox behind it; none given up on.
        assert metrics["leaky_app_outbox_pending"] >= 50
        assert metrics["leaky_app_notification_dead_letters"] == 0
        service.sink = start_sink(RunLayout(service.run_dir), service.ports)  # SMTP comes back
        eventually_sync(
            lambda: set(writer.codes) <= codes_mailed(service, "link_created"),
            "every notice from the outage delivered once SMTP is back",
            deadline_s=60,
        )
        after = scrape(service.metrics_url)
        assert after["leaky_app_notification_dead_letters"] == 0
        assert after['leaky_app_circuit_breaker_state{breaker="smtp",state="closed"}'] == 1
    finally:
        service.stop()
