"""Loopback ports: find a free one, or keep a preferred one when it is free; the ports of
one lab service."""

from __future__ import annotations

import socket
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
        """Free loopback ports (tests, benchmarks)."""
        return cls(
            http=free_port(),
            stream=free_port(),
            metrics=free_port(),
            debug=free_port(),
            smtp=free_port(),
            smtp_metrics=free_port(),
        )
