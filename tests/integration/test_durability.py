"""Links acknowledged with 201 survive ``kill -9`` of the service mid-flight."""

import threading
from pathlib import Path

import httpx
import pytest

from labctl.stack.processes import kill_hard, stop
from tests.integration.load import OwnedLinks
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
