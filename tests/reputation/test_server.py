"""The reputation service attacked as a process on loopback (seed Q376): every handshake a
stranger tries fails, every call without the right token is refused with its status and
counted by reason, bad input gets a clear error, and it keeps serving through all of it and
through a certificate rotation."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import cast

import grpc
import pytest

from labctl.contract import RunLayout
from labctl.stack.pki import LabPki
from labctl.stack.ports import free_ports
from labctl.stack.processes import ProcessRecord, stop
from labctl.stack.reputation_service import start_reputation
from reputation.client import Identity
from reputation.v1 import reputation_pb2 as pb
from reputation.v1 import reputation_pb2_grpc as pb_grpc
from tests.integration.load import scrape
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


@dataclass
class Live:
    record: ProcessRecord
    pki: LabPki
    target: str
    metrics_url: str

    def identity(self, caller: str = "leaky-app") -> Identity:
        return Identity.of(self.pki.directory, caller)

    def metric(self, name: str, **labels: str) -> float:
        """One sample, by its name and its whole label set (0 before it is first counted)."""
        pairs = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        return scrape(self.metrics_url).get(f"{name}{{{pairs}}}" if labels else name, 0.0)

    def log(self) -> str:
        return Path(self.record.log).read_text()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    layout = RunLayout(tmp_path_factory.mktemp("reputation"))
    port, metrics_port = free_ports(2)
    record = start_reputation(layout, port, metrics_port)
    try:
        yield Live(record, LabPki(layout.pki), record.urls["grpc"], record.urls["metrics"])
    finally:
        stop(record)


def check(
    identity: Identity, target: str, url: str = "https://example.org/", **kw: str
) -> pb.Verdict:
    with identity.channel(target, **kw) as channel:
        return pb_grpc.ReputationStub(channel).CheckUrl(pb.CheckUrlRequest(url=url), timeout=5)


def refused(call: Callable[[], object]) -> grpc.Call:
    """The error a refused call raised (gRPC's errors are also its Call)."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return cast(grpc.Call, caught.value)


def test_a_caller_with_its_certificate_and_token_gets_verdicts(live: Live) -> None:
    assert check(live.identity(), live.target).safe
    verdict = check(live.identity(), live.target, "https://paypa1.example/login")
    assert (verdict.safe, verdict.reason) == (False, pb.REASON_LOOKALIKE)
    assert "paypal.example" in verdict.detail


def _copy_of_ca(live: Live, folder: Path) -> LabPki:
    """Another folder holding the same CA, to issue odd certificates without touching live's."""
    folder.mkdir()
    for name in ("ca.crt", "ca.key", "tokens.key", "tokens.pub"):
        shutil.copy(live.pki.directory / name, folder / name)
    return LabPki(folder)


def _counted_past(live: Live, reason: str, before: float) -> bool:
    return live.metric("reputation_handshake_refusals_total", reason=reason) > before


def _plain_http(target: str) -> str:
    """An HTTP/1.1 request in clear to the TLS port; the peer address it came from."""
    host, port = target.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        local = conn.getsockname()
        conn.sendall(b"GET / HTTP/1.1\r\nHost: reputation\r\n\r\n")
        assert conn.recv(100) == b""  # closed: nothing is served in clear
    return f"ipv4:{local[0]}:{local[1]}"


def test_strangers_fail_the_handshake_logged_with_peer_and_reason_and_counted(
    live: Live, tmp_path: Path
) -> None:
    own = live.identity()
    other_ca = LabPki(tmp_path / "other")
    other_ca.ensure()
    expired = _copy_of_ca(live, tmp_path / "expired")
    expired.issue(
        "leaky-app",
        not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
        lifetime=dt.timedelta(days=1),
    )
    no_cert = grpc.ssl_channel_credentials(root_certificates=own.ca.read_bytes())
    strangers: dict[str, tuple[Callable[[], object], str]] = {
        "no client certificate": (
            lambda: _call_with(no_cert, live.target),
            "no_client_certificate",
        ),
        "a certificate from another CA": (
            lambda: check(
                replace(Identity.of(other_ca.directory, "leaky-app"), ca=own.ca), live.target
            ),
            "unknown_ca",
        ),
        "an expired certificate": (
            lambda: check(
                replace(Identity.of(expired.directory, "leaky-app"), ca=own.ca), live.target
            ),
            "expired_certificate",
        ),
        "a server that is not the one asked for": (
            lambda: check(own, live.target, server_name="billing"),
            "wrong_server_name",
        ),
    }
    for what, (call, reason) in strangers.items():
        before = live.metric("reputation_handshake_refusals_total", reason=reason)
        error = refused(call)
        assert error.code() == grpc.StatusCode.UNAVAILABLE, (what, error)
        eventually_sync(partial(_counted_past, live, reason, before), f"{what}: as {reason}")
        lines = [line for line in live.log().splitlines() if f": {reason} (" in line]
        assert lines and "refused a handshake from ipv4:127.0.0.1:" in lines[-1], what
    peer = _plain_http(live.target)
    eventually_sync(
        lambda: f"refused a handshake from {peer}: not_tls" in live.log(), "the clear-text refusal"
    )
    assert "CallNextHandshakerLocked" not in live.log()  # the trace itself is not kept
    assert check(own, live.target).safe


def _call_with(credentials: grpc.ChannelCredentials, target: str) -> pb.Verdict:
    options = [("grpc.ssl_target_name_override", "reputation")]
    with grpc.secure_channel(target, credentials, options) as channel:
        return pb_grpc.ReputationStub(channel).CheckUrl(
            pb.CheckUrlRequest(url="https://a.org/"), timeout=5
        )


def _with_token(live: Live, tmp_path: Path, token: str, caller: str = "leaky-app") -> Identity:
    path = tmp_path / f"{caller}-{abs(hash(token))}.token"
    path.write_text(token)
    return replace(live.identity(caller), token=path)


@pytest.mark.parametrize(
    ("case", "code", "reason", "message"),
    [
        ("no token", grpc.StatusCode.UNAUTHENTICATED, "missing_token", "no token"),
        ("not a bearer token", grpc.StatusCode.UNAUTHENTICATED, "malformed_token", "Bearer"),
        ("wrong audience", grpc.StatusCode.UNAUTHENTICATED, "wrong_audience", "not for"),
        ("expired", grpc.StatusCode.UNAUTHENTICATED, "expired", "expired"),
        ("signed by someone else", grpc.StatusCode.UNAUTHENTICATED, "bad_signature", "signature"),
        (
            "another caller's token",
            grpc.StatusCode.PERMISSION_DENIED,
            "certificate_mismatch",
            "the token names 'labctl' but the client certificate is 'leaky-app'",
        ),
        (
            "a method the caller may not call",
            grpc.StatusCode.PERMISSION_DENIED,
            "method_not_allowed",
            "leaky-app may not call BlockHost",
        ),
    ],
)
def test_a_call_without_the_right_token_is_refused_with_its_status_and_counted(
    live: Live, tmp_path: Path, case: str, code: grpc.StatusCode, reason: str, message: str
) -> None:
    pki = live.pki
    stranger = LabPki(tmp_path / "stranger")
    stranger.ensure()
    identity = {
        "no token": replace(live.identity(), token=None),
        "not a bearer token": live.identity(),
        "wrong audience": _with_token(live, tmp_path, pki.mint("leaky-app", audience="billing")),
        "expired": _with_token(
            live,
            tmp_path,
            pki.mint("leaky-app", issued_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)),
        ),
        "signed by someone else": _with_token(live, tmp_path, stranger.mint("leaky-app")),
        "another caller's token": _with_token(live, tmp_path, pki.mint("labctl")),
        "a method the caller may not call": live.identity(),
    }[case]
    before = live.metric("reputation_refusals_total", reason=reason)
    with identity.channel(live.target) as channel:
        stub = pb_grpc.ReputationStub(channel)
        if case == "not a bearer token":
            metadata = (("authorization", "Basic dXNlcjpwYXNz"),)
            plain = replace(identity, token=None)
            with plain.channel(live.target) as bare:
                error = refused(
                    lambda: pb_grpc.ReputationStub(bare).CheckUrl(
                        pb.CheckUrlRequest(url="https://a.org/"), timeout=5, metadata=metadata
                    )
                )
        elif case == "a method the caller may not call":
            error = refused(lambda: stub.BlockHost(pb.BlockHostRequest(host="x.test"), timeout=5))
        else:
            error = refused(
                lambda: stub.CheckUrl(pb.CheckUrlRequest(url="https://a.org/"), timeout=5)
            )
    assert error.code() == code
    assert message in (error.details() or "")
    assert live.metric("reputation_refusals_total", reason=reason) == before + 1
    logged = [line for line in live.log().splitlines() if f"{code.name}: " in line]
    assert logged and "from ipv4:127.0.0.1:" in logged[-1] and message in logged[-1]


def test_labctl_may_block_a_host_and_the_patient_then_sees_it_refused(live: Live) -> None:
    with live.identity("labctl").channel(live.target) as channel:
        reply = pb_grpc.ReputationStub(channel).BlockHost(
            pb.BlockHostRequest(host="scam.example", note="reported"), timeout=5
        )
    assert reply.added and reply.blocked_hosts >= 4
    verdict = check(live.identity(), live.target, "https://www.scam.example/")
    assert verdict.reason == pb.REASON_BLOCKED_HOST
    assert live.metric("reputation_blocked_hosts") == reply.blocked_hosts


def test_bad_input_gets_a_clear_error_and_the_service_keeps_serving(live: Live) -> None:
    with live.identity().channel(live.target) as channel:
        stub = pb_grpc.ReputationStub(channel)
        huge = refused(
            lambda: stub.CheckUrl(
                pb.CheckUrlRequest(url="https://a.org/" + "x" * 40_000), timeout=5
            )
        )
        assert huge.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        for url, says in [
            ("https:///nohost", "has no host"),
            ("https://a.org/" + "y" * 3000, "at most 2048"),
        ]:
            request = pb.CheckUrlRequest(url=url)
            error = refused(partial(stub.CheckUrl, request, timeout=5))
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert says in (error.details() or "")
        bad_host = refused(lambda: stub.CheckHost(pb.CheckHostRequest(host="a\nb"), timeout=5))
        assert bad_host.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert stub.CheckHost(pb.CheckHostRequest(host="example.org"), timeout=5).safe


def test_certificates_rotate_under_load_with_no_failed_call(live: Live) -> None:
    failures: list[str] = []
    calls = 0
    done = threading.Event()
    reloads = live.metric("reputation_certificate_reloads_total")

    def caller() -> None:
        nonlocal calls
        # A fresh channel (a new handshake) every few calls, as a restarted client would make.
        while not done.is_set():
            try:
                with live.identity().channel(live.target) as channel:
                    stub = pb_grpc.ReputationStub(channel)
                    for _ in range(5):
                        stub.CheckHost(pb.CheckHostRequest(host="example.org"), timeout=5)
                        calls += 1
            except grpc.RpcError as exc:
                failures.append(str(exc))

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:

        def more_than(n: int) -> Callable[[], bool]:
            return lambda: calls > n

        eventually_sync(more_than(50), "calls before the rotation", 30)
        for _ in range(3):
            live.pki.rotate()
            eventually_sync(more_than(calls + 50), "calls after a rotation", 30)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=30)
    assert failures == []
    assert live.metric("reputation_certificate_reloads_total") >= reloads + 1
