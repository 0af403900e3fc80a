"""Refusals read from gRPC's handshaker trace. The records below are copied from the core of
grpcio 1.85; tests/reputation/test_server.py checks the same against the running service, so a
gRPC release that writes them otherwise fails there."""

from __future__ import annotations

import io

import pytest

from reputation.handshakes import LABELS, OTHER, REASONS, HandshakeLog, classify

SERVER_ARGS = (
    "args={endpoint=0x7fec980049b0, args={grpc.internal.endpoint_local_address=ipv4:127.0.0.1:"
    "46027, grpc.internal.endpoint_peer_address=ipv4:127.0.0.1:33540, "
    "grpc.internal.server_credentials=0x5641533af6e0}, read_buffer.Length()=0, exit_early=0}"
)
EXPIRED = (
    "CallNextHandshakerLocked: error=UNKNOWN: Ssl handshake failed (TSI_PROTOCOL_FAILURE): "
    "SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: "
    "certificate has expired: OK\n=== Source Location Trace: ===\n"
    "src/core/util/status_helper.cc:68\n shutdown=false index=2, " + SERVER_ARGS
)


def _log() -> HandshakeLog:
    return HandshakeLog(source=-1, sink=io.StringIO())


def test_a_failed_server_handshake_names_its_peer_and_reason() -> None:
    refusal = _log().observe("10889", EXPIRED)
    assert refusal is not None
    assert refusal.peer == "ipv4:127.0.0.1:33540"
    assert refusal.reason == "expired_certificate"
    assert refusal.detail == "CERTIFICATE_VERIFY_FAILED: certificate has expired"


def test_a_handshake_that_goes_on_is_no_refusal() -> None:
    going_on = "CallNextHandshakerLocked: error=OK shutdown=false index=1, " + SERVER_ARGS
    handshakes = _log()
    assert handshakes.observe("10889", going_on) is None
    # ...but the core thread now works for that peer: a server-name miss is theirs.
    refusal = handshakes.observe("10889", "No match found for server name: billing")
    assert refusal is not None
    assert (refusal.peer, refusal.reason) == ("ipv4:127.0.0.1:33540", "wrong_server_name")
    assert handshakes.refusals == [refusal]
    # A miss reported on a core thread that traced no handshake yet: the latest peer.
    elsewhere = handshakes.observe("20001", "No match found for server name: billing")
    assert elsewhere is not None and elsewhere.peer == "ipv4:127.0.0.1:33540"
    first = _log().observe("1", "No match found for server name: billing")
    assert first is not None and first.peer == "unknown"


def test_the_clients_own_handshakes_are_not_the_servers_refusals() -> None:
    client_side = EXPIRED.replace("grpc.internal.server_credentials", "grpc.client_channel")
    assert _log().observe("1", client_side) is None


def test_every_reason_has_a_bounded_label() -> None:
    assert {label for _text, label in REASONS} | {OTHER} <= LABELS
    assert classify("PEER_DID_NOT_RETURN_A_CERTIFICATE: Invalid context") == "no_client_certificate"
    assert classify("something new") == OTHER


def test_install_refuses_once_grpc_is_loaded() -> None:
    import grpc  # noqa: F401  # the point: it is loaded now

    with pytest.raises(RuntimeError, match="before grpc is imported"):
        HandshakeLog.install()


def test_a_record_it_cannot_follow_still_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    sink = io.StringIO()
    handshakes = HandshakeLog(source=-1, sink=sink)

    def broken(thread: str, message: str) -> None:
        raise ValueError("a format this version does not know")

    monkeypatch.setattr(handshakes, "observe", broken)
    handshakes._record([b"I1201 17:37:16.883529   10889 handshaker.cc:155] something new"])
    assert "something new" in sink.getvalue()  # fd 2's writers are never left blocked
