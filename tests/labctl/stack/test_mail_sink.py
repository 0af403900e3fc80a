"""The lab's SMTP sink as ``labctl up`` runs it: a real process that keeps what it receives,
counts it on its /metrics, refuses unknown mailboxes and fails on demand."""

import smtplib
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from labctl.contract import RunLayout
from labctl.stack.mail_sink import Mailbox, sink_listening_port, start_sink, unknown_mailbox
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import stop
from tests.polling import eventually_sync


def message(to: str, key: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "links@lab.test", to, "your link"
    msg["X-Idempotency-Key"] = key
    msg.set_content("clicked")
    return msg


def test_unknown_mailboxes_are_the_reserved_ones() -> None:
    assert unknown_mailbox("<a@example.invalid>") and unknown_mailbox("gone+7@shop.example")
    assert not unknown_mailbox("owner@shop.example")


def test_a_fail_rate_out_of_range_is_refused_and_the_stored_one_kept(tmp_path: Path) -> None:
    box = Mailbox(tmp_path)
    box.set_fail_rate(0.25)
    with pytest.raises(ValueError, match="between 0 and 1"):
        box.set_fail_rate(2.0)
    assert box.fail_rate() == 0.25


@pytest.mark.integration
def test_the_sink_keeps_counts_refuses_and_fails_on_demand(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path)
    ports = ServicePorts.free()
    record = start_sink(layout, ports)
    try:
        assert sink_listening_port(record, 0) == ports.smtp
        box = Mailbox(layout.smtp)
        with smtplib.SMTP("127.0.0.1", ports.smtp, timeout=10) as smtp:
            smtp.send_message(message("owner@shop.example", "notice-1"))
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.send_message(message("gone@shop.example", "notice-2"))
            box.set_fail_rate(1.0)
            with pytest.raises(smtplib.SMTPDataError) as refused:
                smtp.send_message(message("owner@shop.example", "notice-3"))
            assert refused.value.smtp_code == 451
        assert box.delivered_keys() == {"notice-1"}
        metrics = record.urls["metrics"]

        def counted() -> str:
            return httpx.get(metrics, timeout=5).text

        eventually_sync(lambda: 'result="rejected"} 1.0' in counted(), "the 451 counted")
        text = counted()
        assert 'result="accepted"} 1.0' in text and 'result="refused"} 1.0' in text
    finally:
        stop(record)
