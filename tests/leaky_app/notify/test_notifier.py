"""Workers, relay and outbox together: every staged notice reaches the sink once, a busy
recipient is throttled without holding up the others, refusals end as dead letters."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from leaky_app.db import Database
from leaky_app.metrics import NotifyMetrics
from leaky_app.notify.mailer import Mailer, MailerConfig
from leaky_app.notify.notifier import Notifier, NotifierConfig
from leaky_app.outbox import SCHEMA, Outbox, OutboxEvent, stage
from tests.polling import eventually
from tests.sink import Sink, serve_sink


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path, sink: Sink, config: NotifierConfig
) -> AsyncIterator[tuple[Notifier, Database, CollectorRegistry]]:
    db = await Database.open(tmp_path / "n.db", SCHEMA)
    registry = CollectorRegistry()
    metrics = NotifyMetrics.create(registry)
    mail = MailerConfig(port=sink.port, max_attempts=2, backoff_seconds=0.01)
    notifier = Notifier(Outbox(db), Mailer(mail, metrics), metrics, config)
    task = asyncio.create_task(notifier.run())
    try:
        yield notifier, db, registry
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await db.close()


async def stage_all(db: Database, events: list[tuple[str, str]]) -> None:
    async with db.transaction() as tx:
        for key, recipient in events:
            await stage(tx, OutboxEvent(key, "link_created", recipient, {"code": key}))


async def test_a_busy_recipient_is_throttled_without_blocking_the_others(
    tmp_path: Path,
) -> None:
    rate_per_second = 10.0
    config = NotifierConfig(
        workers=2, per_recipient_per_minute=rate_per_second * 60, per_recipient_burst=2
    )
    async with serve_sink(tmp_path) as sink, running(tmp_path, sink, config) as (n, db, reg):
        hot = [(f"hot{i}", "hot@example.org") for i in range(12)]
        others = [(f"other{i}", f"o{i}@example.org") for i in range(6)]
        await stage_all(db, hot[:6] + others + hot[6:])
        n.relay.wake()
        await eventually(lambda: len(sink.mailbox.delivered_keys()) == 18, "all 18 delivered")
        messages = sink.mailbox.messages()
        assert len(messages) == 18  # once each
        hot_times = sorted(m.received_at for m in messages if m.rcpt_tos == ["hot@example.org"])
        other_times = [m.received_at for m in messages if m.rcpt_tos != ["hot@example.org"]]
        assert max(other_times) < hot_times[-1]  # the others did not queue behind "hot"
        # After its burst of 2, "hot" gets at most about the configured rate.
        observed = (len(hot_times) - 2) / (hot_times[-1] - hot_times[1])
        assert observed < 1.5 * rate_per_second, observed
        assert (reg.get_sample_value("leaky_app_notifications_throttled_total") or 0) > 0


async def test_refused_notices_become_dead_letters_with_their_reason(tmp_path: Path) -> None:
    async with (
        serve_sink(tmp_path) as sink,
        running(tmp_path, sink, NotifierConfig()) as (
            n,
            db,
            reg,
        ),
    ):
        await stage_all(db, [("good", "a@example.org"), ("bad", "nobody@example.invalid")])
        n.relay.wake()
        outbox = Outbox(db)
        await eventually(lambda: n.relay.inflight == 0 and sink.count("accepted") == 1, "done")
        await eventually_backlog(outbox, (0, 1))
        [dead] = await outbox.dead_letters()
        assert dead.key == "bad" and dead.last_error is not None and "550" in dead.last_error
        sent = {"kind": "link_created", "result": "sent"}
        assert reg.get_sample_value("leaky_app_notifications_total", sent) == 1


async def eventually_backlog(outbox: Outbox, expected: tuple[int, int]) -> None:
    for _ in range(200):
        if await outbox.backlog() == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox backlog never became {expected}: {await outbox.backlog()}")


async def test_a_worker_stops_even_when_a_library_swallowed_its_cancel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiosmtplib's asyncio.wait_for (3.11) can swallow a cancel that lands as a reply
    arrives; CI once hung for 300 s on a notifier whose worker then waited for more work."""
    handling = asyncio.Event()

    async def swallowing_handle(row: object) -> None:
        handling.set()
        # What wait_for does when the awaited reply is already there: the cancel is dropped.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)

    async with (
        asyncio.timeout(20),  # a hang fails here, not after pytest-timeout's 300 s
        serve_sink(tmp_path) as sink,
        running(tmp_path, sink, NotifierConfig(workers=1)) as (
            n,
            db,
            _,
        ),
    ):
        monkeypatch.setattr(n, "_handle", swallowing_handle)
        await stage_all(db, [("k", "a@example.org")])
        n.relay.wake()
        await asyncio.wait_for(handling.wait(), 10)
        # running() cancels the notifier on exit; it must finish, not wait for more work.
    assert handling.is_set()
