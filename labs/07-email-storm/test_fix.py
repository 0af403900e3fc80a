"""Lab 07, the fix exercise: a notice must follow the retry policy every send follows
(backoff with jitter, capped attempts, the breaker) while the mail server refuses mail, and
still go out at once when the server takes it.

This test fails until the fix is made. Check your fix with::

    labctl lab check 07 --fix
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiosmtpd.smtp import SMTP
from prometheus_client import CollectorRegistry

from labctl.stack.mail_sink import Mailbox, SinkHandler
from labctl.stack.ports import free_port
from leaky_app.metrics import NotifyMetrics
from leaky_app.notify.mailer import Mailer, MailerConfig
from leaky_app.outbox import OutboxRow

WINDOW_S = 1.5
Served = tuple[int, CollectorRegistry]  # the server's port, and what it counts


@contextlib.asynccontextmanager
async def mail_server(
    folder: Path, fail_rate: float
) -> AsyncIterator[tuple[int, CollectorRegistry]]:
    """The lab's own SMTP sink, answering this share of messages with 451 (its registry
    counts what it answered)."""
    mailbox = Mailbox(folder)
    mailbox.set_fail_rate(fail_rate)
    registry = CollectorRegistry()
    handler = SinkHandler(mailbox, registry)
    loop = asyncio.get_running_loop()
    port = free_port()
    server = await loop.create_server(lambda: SMTP(handler, loop=loop), "127.0.0.1", port)
    try:
        yield port, registry
    finally:
        server.close()
        await server.wait_closed()
        handler.close()


def answered(registry: CollectorRegistry, result: str) -> int:
    value = registry.get_sample_value("lab_smtp_sink_messages_total", {"result": result})
    return int(value or 0)


BREAKER_THRESHOLD = 2  # refusals in a row that open the breaker, for its default 5 s


def prompt_mailer(port: int) -> Mailer:
    config = MailerConfig(port=port, backoff_seconds=0.5, timeout_seconds=2.0,
                          breaker_threshold=BREAKER_THRESHOLD)  # fmt: skip
    mailer = Mailer(config, NotifyMetrics.create(CollectorRegistry()))
    mailer.use_resends("prompt")  # the release the service runs
    return mailer


def notice() -> OutboxRow:
    return OutboxRow(
        id=1,
        key="click_milestone:abc:100",
        kind="link_created",
        recipient="owner@example.org",
        payload={"code": "abc", "url": "https://e.org"},
        created_at=time.time(),
        state="pending",
        attempts=0,
        last_error=None,
    )


async def test_a_refusing_server_gets_no_more_attempts_than_the_breaker_lets_through(
    tmp_path: Path,
) -> None:
    async with mail_server(tmp_path, fail_rate=1.0) as (port, registry):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(prompt_mailer(port).deliver(notice()), WINDOW_S)
        refused = answered(registry, "rejected")
    assert 1 <= refused <= BREAKER_THRESHOLD, (
        f"{refused} attempts in {WINDOW_S:g} s against a server refusing every message, with a "
        f"breaker that opens after {BREAKER_THRESHOLD}: the notice is resent at once, with no "
        "backoff between attempts and past the breaker"
    )


async def test_a_notice_goes_out_at_once_when_the_server_takes_it(tmp_path: Path) -> None:
    async with mail_server(tmp_path, fail_rate=0.0) as (port, registry):
        delivery = await prompt_mailer(port).deliver(notice())
        assert delivery.sent and delivery.attempts == 1
        assert answered(registry, "accepted") == 1
