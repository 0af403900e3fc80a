"""Every TLS handshake the service refuses, logged with the peer's address and the reason, and
counted by reason.

gRPC Python has no hook on a failed handshake: its C core does the handshake and, by default,
logs the reason without the peer. Only the core's ``handshaker`` trace names the peer, in
records written to file descriptor 2. So the process turns that trace on before gRPC loads,
reads its own fd 2 through a pipe, turns each refusal into one line and a count, drops the
trace's other records and passes every other line through unchanged. Usage, first thing in
``python -m reputation`` (before anything imports ``grpc``)::

    handshakes = HandshakeLog.install()
    ...
    handshakes.count_into(lambda refusal: counter.labels(refusal.reason).inc())

A client that asks for another server name completes the handshake on our side and then
refuses our certificate itself; the service logs the name it was asked for, with the peer.
"""

from __future__ import annotations

import io
import logging
import os
import re
import select
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("reputation.handshakes")

TRACE = "handshaker"
# A record of gRPC's core log: "I1201 17:37:16.883529   10889 handshaker.cc:155] message"; a
# message may go on over lines that do not start that way.
_RECORD = re.compile(rb"^[IWEF]\d{4} [\d:.]+\s+(?P<thread>\d+) (?P<file>[\w./-]+):\d+\] ")
_PEER = re.compile(r"grpc\.internal\.endpoint_peer_address=([^,}\s]+)")
_ERROR = re.compile(
    r"CallNextHandshakerLocked: error=(?P<error>.*?)(?:=== Source|\s+shutdown=)", re.S
)
_SERVER_NAME = re.compile(r"No match found for server name: (\S+)")

# Each refusal's label, from the first of these its reason contains (bounded: this table and
# "other"). The texts are OpenSSL's (BoringSSL's) as gRPC's core reports them.
REASONS: tuple[tuple[str, str], ...] = (
    ("PEER_DID_NOT_RETURN_A_CERTIFICATE", "no_client_certificate"),
    ("certificate has expired", "expired_certificate"),
    ("certificate is not yet valid", "certificate_not_yet_valid"),
    ("BAD_SIGNATURE", "unknown_ca"),
    ("unable to get local issuer certificate", "unknown_ca"),
    ("WRONG_VERSION_NUMBER", "not_tls"),
    ("HTTP_REQUEST", "not_tls"),
)
OTHER = "other"
WRONG_SERVER_NAME = "wrong_server_name"
LABELS = frozenset({label for _text, label in REASONS} | {OTHER, WRONG_SERVER_NAME})


@dataclass(frozen=True)
class Refusal:
    peer: str  # as gRPC writes peers: "ipv4:127.0.0.1:33528"
    reason: str  # a label of REASONS, or OTHER
    detail: str  # the core's own words


def _openssl_words(error: str) -> str:
    """ "UNKNOWN: Ssl handshake failed (...): SSL_ERROR_SSL: error:1a000064:ECDSA
    routines:OPENSSL_internal:BAD_SIGNATURE: certificate signature failure: OK" says
    "BAD_SIGNATURE: certificate signature failure"."""
    words = error.rsplit("OPENSSL_internal:", 1)[-1]
    return words.removesuffix(": OK")


def classify(detail: str) -> str:
    return next((label for text, label in REASONS if text in detail), OTHER)


def _dropped(file: str, message: str) -> bool:
    """The trace's own records, and the core's peer-less line that a refusal replaces."""
    return (
        file.endswith("handshaker.cc")
        or "handshake manager" in message
        or message.startswith("gRPC Tracers:")
        or message.startswith("Handshake failed with error")
    )


class HandshakeLog:
    """Reads the process's fd 2 (see the module's docstring); one per process."""

    def __init__(self, source: int, sink: io.TextIOBase) -> None:
        self._source = source
        self._sink = sink
        self._count: Callable[[Refusal], None] = lambda _refusal: None
        self._last_peer: dict[str, str] = {}  # by core thread: whose handshake it is doing
        # The core may report a server-name miss on a thread whose handshake trace it has not
        # written yet (seen in CI): then the peer of the latest handshake is the best guess.
        self._latest_peer = "unknown"
        self.refusals: list[Refusal] = []  # the last few, newest last (for tests and views)

    @classmethod
    def install(cls) -> HandshakeLog:
        """Turn the trace on, move fd 2 onto a pipe that a thread reads, and point Python's
        ``sys.stderr`` at the real stderr. Call before ``grpc`` is imported."""
        if "grpc" in sys.modules:
            raise RuntimeError("HandshakeLog.install() must run before grpc is imported")
        traces = [t for t in os.environ.get("GRPC_TRACE", "").split(",") if t]
        os.environ["GRPC_TRACE"] = ",".join([*traces, TRACE])
        real = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        sink = io.TextIOWrapper(io.FileIO(real, "w"), line_buffering=True, errors="replace")
        sys.stderr = sink
        handshakes = cls(read_end, sink)
        threading.Thread(target=handshakes._pump, name="handshake-log", daemon=True).start()
        return handshakes

    def count_into(self, count: Callable[[Refusal], None]) -> None:
        self._count = count

    def _pump(self) -> None:
        pending: list[bytes] = []
        buffer = b""
        while True:
            ready, _, _ = select.select([self._source], [], [], 0.2)
            if not ready:  # a quiet moment: the record in hand is whole
                self._record(pending)
                pending = []
                continue
            chunk = os.read(self._source, 65536)
            if not chunk:
                self._record(pending)
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if _RECORD.match(line):
                    self._record(pending)
                    pending = []
                pending.append(line)

    def _record(self, lines: list[bytes]) -> None:
        if not lines:
            return
        try:
            self._follow(lines)
        except Exception:  # this thread must live: without it, writers to fd 2 block
            self._sink.write(b"\n".join(lines).decode(errors="replace") + "\n")

    def _follow(self, lines: list[bytes]) -> None:
        head = _RECORD.match(lines[0])
        text = b"\n".join(lines).decode(errors="replace")
        if head is None:
            self._sink.write(text + "\n")
            return
        thread, file = head["thread"].decode(), head["file"].decode()
        message = text[head.end() :]
        self.observe(thread, message)
        if not _dropped(file, message) and not _SERVER_NAME.search(message):
            self._sink.write(text + "\n")

    def observe(self, thread: str, message: str) -> Refusal | None:
        """Follow one core record; the refusal it reports, if any."""
        refusal = None
        peer = _PEER.search(message)
        if message.startswith("CallNextHandshakerLocked") and "server_credentials" in message:
            if peer:
                self._last_peer[thread] = self._latest_peer = peer[1]
            error = _ERROR.search(message)
            if error and not error["error"].startswith("OK") and peer:
                detail = _openssl_words(" ".join(error["error"].split()))
                refusal = Refusal(peer[1], classify(detail), detail)
        elif name := _SERVER_NAME.search(message):
            detail = f"asked for server name {name[1]!r}, which this service does not hold"
            peer_of = self._last_peer.get(thread, self._latest_peer)
            refusal = Refusal(peer_of, WRONG_SERVER_NAME, detail)
        if refusal is not None:
            self.refusals = [*self.refusals[-99:], refusal]
            log.warning(
                "refused a handshake from %s: %s (%s)", refusal.peer, refusal.reason, refusal.detail
            )
            self._count(refusal)
        return refusal
