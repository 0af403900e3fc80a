"""Sending one notification by SMTP (seeds Q364, Q365).

Every send goes through a circuit breaker (purgatory) and is retried with exponential backoff
and full jitter (tenacity's ``wait_random_exponential``). What a failure means decides what
happens next:

* the server **refused this message for now** (4xx): retried with backoff; after
  ``max_attempts`` such answers the notice becomes a dead letter;
* the server **refused it for good** (5xx): a dead letter at once;
* the server is **unreachable** (refused connection, timeout, disconnect) or the breaker is
  open: the message waits and tries again, without spending its attempts. An outage is the
  server's problem, not the message's, so nothing is dead-lettered because SMTP was down.

Two resend policies decide when a refused send is tried again, with the same decisions and
the same budget: ``"backoff"`` (the above) and ``"prompt"`` (at once, so that owners hear
sooner). Given the same answers from the server, both end a notice the same way.

Usage::

    mailer = Mailer(MailerConfig(host="127.0.0.1", port=2525), metrics)
    delivery = await mailer.deliver(outbox_row)    # Delivery(sent=True, attempts=1, ...)
    mailer.use_resends("prompt")
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from opentelemetry.trace import SpanKind
from purgatory.domain.model import OpenedState
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception
from tenacity import wait_random_exponential as full_jitter

from leaky_app.breakers import Breaker
from leaky_app.links.notices import render
from leaky_app.metrics import NotifyMetrics
from leaky_app.outbox import OutboxRow
from leaky_app.tracing import child_span

IDEMPOTENCY_HEADER = "X-Idempotency-Key"
BREAKER = "smtp"
_UNREACHABLE = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPServerDisconnected,
    aiosmtplib.SMTPTimeoutError,
    OSError,
)


class SmtpRejected(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.temporary = 400 <= code < 500


class PermanentRejection(SmtpRejected):
    """5xx: the breaker does not count it; the server is healthy, the message is not."""


class SmtpUnreachable(Exception):
    pass


@dataclass(frozen=True)
class MailerConfig:
    host: str = "127.0.0.1"
    port: int = 2525
    sender: str = "links@leaky-app.localhost"
    timeout_seconds: float = 5.0
    max_attempts: int = 5
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 10.0
    breaker_threshold: int = 5
    breaker_ttl_seconds: float = 5.0


@dataclass(frozen=True)
class Delivery:
    sent: bool
    attempts: int  # SMTP transactions tried; breaker short-circuits are not attempts
    error: str | None = None

    @classmethod
    def refused(cls, attempts: int, exc: SmtpRejected) -> Delivery:
        """Given up after the server's last refusal: every policy ends a notice so."""
        return cls(False, attempts, f"refused after {attempts} attempts: {exc}")


def build_message(row: OutboxRow, sender: str) -> EmailMessage:
    subject, body = render(row.kind, dict(row.payload))
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = subject
    digest = hashlib.sha256(row.key.encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{digest}@leaky-app.localhost>"
    message[IDEMPOTENCY_HEADER] = row.key
    message.set_content(body)
    return message


def _rejection(exc: aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused) -> Any:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [e.code for e in exc.recipients] or [550]
        code = min(codes)  # one temporary refusal makes the whole send worth retrying
        message = "; ".join(e.message for e in exc.recipients)
    else:
        code, message = exc.code, exc.message
    return PermanentRejection(code, message) if code >= 500 else SmtpRejected(code, message)


def backoff(base: float, cap: float) -> Callable[[RetryCallState], float]:
    """Exponential backoff with full jitter: before retry n, a wait drawn uniformly from
    ``[0, min(cap, base * 2**(n-1))]`` (tenacity's ``wait_random_exponential``)."""
    return full_jitter(multiplier=base, max=cap)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, PermanentRejection):
        return False
    return isinstance(exc, (SmtpRejected, SmtpUnreachable, OpenedState))


class Mailer:
    def __init__(self, config: MailerConfig, metrics: NotifyMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self.resends = "backoff"
        self.breaker = Breaker(BREAKER, config.breaker_threshold, config.breaker_ttl_seconds,
                               metrics, exclude=[PermanentRejection])  # fmt: skip
        self._sends_accepted = metrics.smtp_sends.labels(outcome="accepted")
        self._sends_rejected = metrics.smtp_sends.labels(outcome="rejected")
        self._sends_unreachable = metrics.smtp_sends.labels(outcome="unreachable")

    @property
    def breaker_state(self) -> str:
        return self.breaker.state

    async def _send(self, message: EmailMessage) -> None:
        """One SMTP transaction, straight to the server."""
        attributes = {"server.address": self.config.host, "server.port": self.config.port}
        with child_span("smtp send", SpanKind.CLIENT, attributes):
            await self._send_once(message)

    async def _send_once(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.config.host,
                port=self.config.port,
                timeout=self.config.timeout_seconds,
                local_hostname="leaky-app.localhost",  # not socket.getfqdn(): no DNS wait
                start_tls=False,
            )
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
            self._sends_rejected.inc()
            raise _rejection(exc) from exc
        except _UNREACHABLE as exc:
            self._sends_unreachable.inc()
            raise SmtpUnreachable(f"{self.config.host}:{self.config.port}: {exc}") from exc
        self._sends_accepted.inc()

    async def _send_guarded(self, message: EmailMessage) -> None:
        breaker = await self.breaker.factory.get_breaker(BREAKER)
        async with breaker:
            await self._send(message)

    def use_resends(self, name: str) -> None:
        """The resend policy from the next notice on: ``"backoff"`` or ``"prompt"``."""
        if name not in ("backoff", "prompt"):
            raise ValueError(f"no resend policy {name!r}: backoff or prompt")
        self.resends = name

    async def deliver(self, row: OutboxRow) -> Delivery:
        """Send ``row`` until accepted, refused for good, or out of attempts."""
        message = build_message(row, self.config.sender)
        if self.resends == "prompt":
            return await self.deliver_promptly(message)
        return await self.deliver_with_backoff(message)

    async def deliver_with_backoff(self, message: EmailMessage) -> Delivery:
        """Backoff with full jitter between refusals, through the breaker."""
        config = self.config
        sends = 0
        refusals = 0
        jitter = backoff(config.backoff_seconds, config.backoff_max_seconds)

        def out_of_attempts(_: RetryCallState) -> bool:
            return refusals >= config.max_attempts

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, OpenedState):
                # Come back when the breaker lets a probe through, not before.
                return max(0.05, exc.opened_at + config.breaker_ttl_seconds - time.time())
            return float(jitter(state))

        try:
            async for attempt in AsyncRetrying(
                stop=out_of_attempts,
                wait=wait,
                retry=retry_if_exception(_retryable),
                reraise=True,
            ):
                with attempt:
                    try:
                        sends += 1
                        await self._send_guarded(message)
                    except OpenedState:
                        sends -= 1
                        raise
                    except SmtpRejected:
                        refusals += 1
                        raise
        except SmtpRejected as exc:
            return Delivery.refused(sends, exc)
        return Delivery(True, sends)

    async def deliver_promptly(self, message: EmailMessage) -> Delivery:
        """Owners want to hear now: a refused send is tried again at once, not after a
        backoff or the breaker's seconds, with the same budget (``max_attempts`` refusals)
        so no notice gets more tries than before. A server that is down is waited for."""
        config = self.config
        sends = 0
        refusals = 0
        while True:
            sends += 1
            try:
                await self._send(message)
            except PermanentRejection as exc:
                return Delivery.refused(sends, exc)
            except SmtpRejected as exc:
                refusals += 1
                if refusals >= config.max_attempts:
                    return Delivery.refused(sends, exc)
            except SmtpUnreachable:
                await asyncio.sleep(config.backoff_seconds)
            else:
                return Delivery(True, sends)
