"""Loopback ports: find a free one, or keep a preferred one when it is free; the ports of
one lab service."""

from __future__ import annotations

import socket
from collections.abc import Collection
from dataclasses import dataclass

from labctl import contract

LOOPBACK = "127.0.0.1"


def is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK) -> int:
    """A port the kernel just handed out; free now, not reserved (another bind may win)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, avoid: Collection[int] = (), host: str = LOOPBACK) -> list[int]:
    """``count`` distinct free ports, none of ``avoid`` (ports chosen but not yet bound): each
    socket stays bound until all are chosen, so the kernel cannot hand out one twice."""
    held: list[socket.socket] = []
    chosen: list[int] = []
    try:
        while len(chosen) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)  # an avoided port stays held too, so it is not offered again
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
            if port not in avoid:
                chosen.append(port)
        return chosen
    finally:
        for sock in held:
            sock.close()


def preferred_or_free(preferred: int, host: str = LOOPBACK) -> int:
    return preferred if is_free(preferred, host) else free_port(host)


@dataclass(frozen=True)
class ServicePorts:
    """The ports of one lab service and the SMTP sink it mails."""

    http: int
    stream: int  # the click stream's own websocket port (leaky_app.stream_server)
    metrics: int
    debug: int
    smtp: int  # the SMTP sink the service mails
    smtp_metrics: int  # the sink's /metrics

    @classmethod
    def choose(cls) -> ServicePorts:
        """The documented defaults when free, otherwise free ports (a second lab, CI)."""
        return cls(
            http=preferred_or_free(contract.SERVICE_PORT),
            stream=preferred_or_free(contract.STREAM_PORT),
            metrics=preferred_or_free(contract.METRICS_PORT),
            debug=preferred_or_free(contract.DEBUG_PORT),
            smtp=preferred_or_free(contract.SMTP_PORT),
            smtp_metrics=preferred_or_free(contract.SMTP_METRICS_PORT),
        )

    @classmethod
    def free(cls) -> ServicePorts:
        """Distinct free loopback ports (tests, benchmarks)."""
        return cls(*free_ports(6))

    def all(self) -> tuple[int, ...]:
        return (self.http, self.stream, self.metrics, self.debug, self.smtp, self.smtp_metrics)
