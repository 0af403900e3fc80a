"""The lab's SMTP sink: a real SMTP server (aiosmtpd) on loopback that keeps what it receives.

The service mails link owners through it; tests and labs count what arrived. It can also be
told to fail, so the notifier's retries, breaker and the retry-storm fault have something to
fight::

    labctl smtp serve --port 2525 --dir run/smtp --metrics-port 9465   (what `labctl up` runs)
    labctl smtp fail --rate 0.5        # half of all messages get "451 try again later"
    labctl smtp heal
    labctl smtp status                 # accepted, rejected, distinct idempotency keys

Files in its directory:

* ``messages.jsonl``: one JSON line per accepted message (time, from, to, subject,
  Message-ID, the ``X-Idempotency-Key`` header);
* ``control.json``: ``{"fail_rate": 0.5}``, re-read when its mtime changes.

Unknown mailboxes (see :func:`unknown_mailbox`) are refused for good (550). Its ``/metrics``
(``lab_smtp_sink_messages_total{result="accepted|rejected|refused"}``) shows the outbound
mail rate from the receiving side.

Library use::

    box = Mailbox(Path("run/smtp"))
    box.set_fail_rate(1.0)
    keys = box.delivered_keys()      # distinct idempotency keys accepted so far
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sys
import time
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from prometheus_client import CollectorRegistry, Counter, start_http_server

from labctl.contract import SINK, Metric, RunLayout
from labctl.stack.ports import LOOPBACK, ServicePorts
from labctl.stack.processes import ProcessRecord, ready_or_stopped, spawn

IDEMPOTENCY_HEADER = "X-Idempotency-Key"
TEMPORARY_FAILURE = "451 4.3.0 mailbox temporarily unavailable, try again later"
NO_SUCH_MAILBOX = "550 5.1.1 no such mailbox"


@dataclass(frozen=True)
class Received:
    received_at: float
    mail_from: str
    rcpt_tos: list[str]
    subject: str
    message_id: str
    idempotency_key: str | None


class Mailbox:
    """The sink's directory: what it accepted and how it is told to behave."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.messages_file = directory / "messages.jsonl"
        self.control_file = directory / "control.json"

    def messages(self) -> list[Received]:
        try:
            lines = self.messages_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        # A line being appended right now may be incomplete; it is read next time.
        out = []
        for line in lines:
            try:
                out.append(Received(**json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                continue
        return out

    def delivered_keys(self) -> set[str]:
        """Distinct idempotency keys accepted: what an owner sees, duplicates dropped."""
        return {m.idempotency_key for m in self.messages() if m.idempotency_key}

    def fail_rate(self) -> float:
        try:
            data = json.loads(self.control_file.read_text(encoding="utf-8"))
            return min(1.0, max(0.0, float(data.get("fail_rate", 0.0))))
        except (FileNotFoundError, json.JSONDecodeError, TypeError, ValueError, AttributeError):
            return 0.0

    def set_fail_rate(self, rate: float) -> None:
        """Answer this share of messages (0..1) with a temporary failure from now on."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fail rate must be between 0 and 1, not {rate}")
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.control_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"fail_rate": rate}) + "\n", encoding="utf-8")
        tmp.replace(self.control_file)


def unknown_mailbox(address: str) -> bool:
    """Mailboxes the sink refuses for good (550), like a real server's unknown user: any at
    ``.invalid`` (reserved by RFC 2606), and ``gone@`` or ``gone+anything@`` at any domain
    (an address the service accepts, for labs that need dead letters)."""
    local, _, domain = address.strip("<>").lower().rpartition("@")
    return domain.endswith(".invalid") or local == "gone" or local.startswith("gone+")


class _Control:
    """``control.json`` read again only when its mtime changes (a stat per message)."""

    def __init__(self, mailbox: Mailbox) -> None:
        self._mailbox = mailbox
        self._mtime: float | None = None
        self.fail_rate = 0.0

    def refresh(self) -> float:
        try:
            mtime = self._mailbox.control_file.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        if mtime != self._mtime:
            self._mtime = mtime
            self.fail_rate = self._mailbox.fail_rate()
        return self.fail_rate


class SinkHandler:
    """aiosmtpd handler: accept and record, or refuse with 451 at the configured rate."""

    def __init__(self, mailbox: Mailbox, registry: CollectorRegistry) -> None:
        self.mailbox = mailbox
        self._control = _Control(mailbox)
        self._messages = Counter(
            Metric.SINK_MESSAGES.removesuffix("_total"),
            "Messages the SMTP sink received, by what it answered.",
            ["result"],
            registry=registry,
        )
        self._accepted = self._messages.labels(result="accepted")
        self._rejected = self._messages.labels(result="rejected")
        self._refused = self._messages.labels(result="refused")
        mailbox.directory.mkdir(parents=True, exist_ok=True)
        self._out = mailbox.messages_file.open("a", encoding="utf-8", buffering=1)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if unknown_mailbox(address):
            self._refused.inc()
            return NO_SUCH_MAILBOX
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if random.random() < self._control.refresh():  # noqa: S311 (a failure drill, not crypto)
            self._rejected.inc()
            return TEMPORARY_FAILURE
        content = envelope.original_content or b""
        headers = BytesHeaderParser().parsebytes(content)
        received = Received(
            received_at=time.time(),
            mail_from=str(envelope.mail_from),
            rcpt_tos=list(envelope.rcpt_tos),
            subject=str(headers.get("Subject", "")),
            message_id=str(headers.get("Message-ID", "")),
            idempotency_key=headers.get(IDEMPOTENCY_HEADER),
        )
        self._out.write(json.dumps(received.__dict__) + "\n")
        self._accepted.inc()
        return "250 2.0.0 OK: kept by the lab sink"

    def close(self) -> None:
        self._out.close()


async def serve(host: str, port: int, directory: Path, metrics_port: int) -> None:
    """Run the sink until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    registry = CollectorRegistry()
    handler = SinkHandler(Mailbox(directory), registry)

    def protocol() -> Any:
        return SMTP(handler, hostname="lab-smtp-sink", data_size_limit=1 << 20, loop=loop)

    server = await loop.create_server(protocol, host, port)
    metrics, _thread = start_http_server(metrics_port, addr=host, registry=registry)
    stopped = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    print(f"smtp sink on {host}:{port}, keeping mail in {directory}", flush=True)
    try:
        await stopped.wait()
    finally:
        server.close()
        await server.wait_closed()
        metrics.shutdown()
        handler.close()


def sink_command(ports: ServicePorts, layout: RunLayout) -> list[str]:
    return [
        sys.executable,
        "-m",
        "labctl",
        "smtp",
        "serve",
        "--port",
        str(ports.smtp),
        "--metrics-port",
        str(ports.smtp_metrics),
        "--dir",
        str(layout.smtp),
    ]


def start_sink(layout: RunLayout, ports: ServicePorts, *, timeout: float = 30.0) -> ProcessRecord:
    """Start the SMTP sink and wait until its /metrics answers (it listens for SMTP first)."""
    record = spawn(SINK, sink_command(ports, layout), layout.log("smtp"))
    metrics = f"http://{LOOPBACK}:{ports.smtp_metrics}/metrics"
    record.urls = {"smtp": f"smtp://{LOOPBACK}:{ports.smtp}", "metrics": metrics}
    return ready_or_stopped(record, metrics, timeout)


def sink_listening_port(sink: ProcessRecord, default: int) -> int:
    """The port a running sink listens on for SMTP."""
    url = sink.urls.get("smtp", "")
    return int(url.rsplit(":", 1)[1]) if url.count(":") == 2 else default
