"""One notice through real SMTP to the lab's sink: retries, breaker, dead letters, resends."""

import asyncio
import time
from pathlib import Path
from statistics import mean

from aiosmtpd.smtp import SMTP, Envelope
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from tenacity import AsyncRetrying, RetryCallState

from labctl.stack.ports import free_port
from leaky_app.metrics import NotifyMetrics
from leaky_app.notify.mailer import Delivery, Mailer, MailerConfig, backoff
from leaky_app.outbox import OutboxRow
from tests.polling import eventually
from tests.sink import serve_sink


def row(recipient: str = "owner@example.org", key: str = "link_created:abc:1") -> OutboxRow:
    return OutboxRow(
        id=1,
        key=key,
        kind="link_created",
        recipient=recipient,
        payload={"code": "abc", "url": "https://e.org"},
        created_at=time.time(),
        state="pending",
        attempts=0,
        last_error=None,
    )


def mailer(port: int, **overrides: float) -> tuple[Mailer, CollectorRegistry]:
    registry = CollectorRegistry()
    values: dict[str, float] = {
        "backoff_seconds": 0.01,
        "backoff_max_seconds": 0.05,
        "breaker_ttl_seconds": 0.3,
        "timeout_seconds": 2.0,
    }
    values.update(overrides)
    config = MailerConfig(port=port, **values)  # type: ignore[arg-type]
    return Mailer(config, NotifyMetrics.create(registry)), registry


def sends(registry: CollectorRegistry, outcome: str) -> float:
    return registry.get_sample_value("leaky_app_smtp_sends_total", {"outcome": outcome}) or 0.0


def breaker_is(registry: CollectorRegistry, state: str) -> bool:
    labels = {"breaker": "smtp", "state": state}
    return registry.get_sample_value("leaky_app_circuit_breaker_state", labels) == 1.0


async def test_accepted_mail_carries_the_idempotency_key(tmp_path: Path) -> None:
    async with serve_sink(tmp_path) as sink:
        m, _ = mailer(sink.port)
        delivery = await m.deliver(row())
        assert (delivery.sent, delivery.attempts) == (True, 1)
        [received] = sink.mailbox.messages()
        assert received.idempotency_key == "link_created:abc:1"
        assert received.rcpt_tos == ["owner@example.org"]
        assert "/abc" in received.subject


async def test_temporary_refusals_are_retried_then_dead_lettered(tmp_path: Path) -> None:
    async with serve_sink(tmp_path) as sink:
        sink.mailbox.set_fail_rate(1.0)
        m, registry = mailer(sink.port, max_attempts=4, breaker_threshold=100)
        delivery = await m.deliver(row())
        assert (delivery.sent, delivery.attempts) == (False, 4)
        assert "451" in (delivery.error or "")
        assert sink.count("rejected") == 4
        assert sends(registry, "rejected") == 4


async def test_a_permanent_refusal_is_dead_at_once(tmp_path: Path) -> None:
    async with serve_sink(tmp_path) as sink:
        m, _ = mailer(sink.port, max_attempts=5)
        delivery = await m.deliver(row(recipient="nobody@example.invalid"))
        assert (delivery.sent, delivery.attempts) == (False, 1)
        assert "550" in (delivery.error or "")


async def test_an_outage_opens_the_breaker_and_loses_nothing(tmp_path: Path) -> None:
    port = free_port()  # nothing listens yet: SMTP is down
    m, registry = mailer(port, max_attempts=2, breaker_threshold=3)
    task = asyncio.create_task(m.deliver(row()))
    await eventually(lambda: breaker_is(registry, "open"), "breaker open during the outage")
    # More failed connections than max_attempts, yet the notice is not dead: outages do not
    # spend a message's attempts.
    assert sends(registry, "unreachable") >= 3
    assert not task.done()
    async with serve_sink(tmp_path, port) as sink:
        delivery = await asyncio.wait_for(task, 30)
        assert delivery.sent
        assert len(sink.mailbox.delivered_keys()) == 1
    assert breaker_is(registry, "closed")
    transitions = {
        s: registry.get_sample_value(
            "leaky_app_circuit_breaker_transitions_total", {"breaker": "smtp", "state": s}
        )
        for s in ("open", "half_open", "closed")
    }
    assert all(v and v >= 1 for v in transitions.values()), transitions


async def test_prompt_resends_hammer_a_failing_server_past_its_breaker(tmp_path: Path) -> None:
    async with serve_sink(tmp_path) as sink:
        sink.mailbox.set_fail_rate(1.0)
        m, registry = mailer(sink.port, breaker_threshold=3)
        m.use_resends("prompt")
        started = time.monotonic()
        delivery = await m.deliver(row())
        took = time.monotonic() - started
        assert (delivery.sent, delivery.attempts) == (False, m.config.max_attempts)
        assert sink.count("rejected") == m.config.max_attempts  # past the threshold of 3
        assert breaker_is(registry, "closed")  # the prompt path never consults it
        m.use_resends("backoff")
        started = time.monotonic()
        assert (await m.deliver(row(key="link_created:abc:2"))).sent is False
        # The same budget, spread out by the backoff and the breaker's open seconds.
        assert time.monotonic() - started > 3 * took


Answer = str  # "250", "451" or "550": what the scripted server says to one message


class ScriptedServer:
    """A real SMTP server (aiosmtpd) answering each message with the next of a script."""

    def __init__(self, script: list[Answer]) -> None:
        self.script = list(script)
        self.delivered: list[str] = []

    async def handle_DATA(self, _server: object, _session: object, envelope: Envelope) -> str:
        answer = self.script.pop(0) if self.script else "250"
        if answer == "250":
            content = envelope.content or b""
            self.delivered.append(content.decode() if isinstance(content, bytes) else content)
            return "250 OK"
        return f"{answer} {'try again later' if answer == '451' else 'no such mailbox'}"


async def deliver_scripted(script: list[Answer], resends: str) -> tuple[Delivery, list[str]]:
    handler = ScriptedServer(script)
    loop = asyncio.get_running_loop()
    port = free_port()
    server = await loop.create_server(lambda: SMTP(handler, loop=loop), "127.0.0.1", port)
    try:
        # A breaker that opens after two refusals: its waits must not change the ending.
        m, _ = mailer(port, backoff_seconds=0.001, backoff_max_seconds=0.004,
                      breaker_threshold=2, breaker_ttl_seconds=0.02)  # fmt: skip
        m.use_resends(resends)
        delivery = await m.deliver(row())
    finally:
        server.close()
        await server.wait_closed()
    return delivery, handler.delivered


@settings(max_examples=40, deadline=None)
@given(script=st.lists(st.sampled_from(["250", "451", "451", "451", "550"]), max_size=8))
def test_both_resend_policies_end_a_notice_the_same_way_for_the_same_answers(
    script: list[Answer],
) -> None:
    async def both() -> None:
        backoff_end, backoff_mail = await deliver_scripted(script, "backoff")
        prompt_end, prompt_mail = await deliver_scripted(script, "prompt")
        assert prompt_end == backoff_end, script
        assert len(prompt_mail) == len(backoff_mail) <= 1
        assert [m.split("\n\n", 1)[-1] for m in prompt_mail] == [
            m.split("\n\n", 1)[-1] for m in backoff_mail
        ]

    asyncio.run(both())


def test_backoff_is_exponential_with_full_jitter() -> None:
    wait = backoff(base=1.0, cap=8.0)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 8.0)):
        state = RetryCallState(AsyncRetrying(), None, (), {})
        state.attempt_number = attempt
        samples = [wait(state) for _ in range(2000)]
        assert min(samples) >= 0.0 and max(samples) <= ceiling
        # Uniform over [0, ceiling]: mean about half, and small waits do occur.
        assert 0.4 * ceiling < mean(samples) < 0.6 * ceiling
        assert min(samples) < 0.1 * ceiling
