"""The reputation service (``python -m reputation``) as a process of the stack, with the lab's
PKI it needs: a CA and certificates under ``run/pki/``, created before it starts.

Usage::

    layout = RunLayout(Path("run"))
    record = start_reputation(layout, *free_ports(2))
    record.urls["grpc"], record.urls["metrics"]
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from labctl.contract import REPUTATION, RunLayout
from labctl.stack.pki import LabPki
from labctl.stack.ports import LOOPBACK
from labctl.stack.processes import ProcessRecord, ready_or_stopped, spawn


def reputation_command(layout: RunLayout, port: int, metrics_port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "reputation",
        "--pki",
        str(layout.pki),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--metrics-port",
        str(metrics_port),
    ]


def start_reputation(
    layout: RunLayout,
    port: int,
    metrics_port: int,
    *,
    timeout: float = 30.0,
    echo: Callable[[str], None] = lambda _line: None,
    extra_args: list[str] | None = None,
) -> ProcessRecord:
    """Make sure the PKI is there and fresh, start the service, and wait until its
    ``/metrics`` answers (it binds the gRPC port first, so then both are up)."""
    written = LabPki(layout.pki).ensure()
    if written:
        echo(f"lab PKI under {layout.pki}: wrote {', '.join(written)}")
    cmd = reputation_command(layout, port, metrics_port) + (extra_args or [])
    echo(" ".join(cmd))
    record = spawn(REPUTATION, cmd, layout.log(REPUTATION))
    record.urls = {
        "grpc": f"{LOOPBACK}:{port}",
        "metrics": f"http://{LOOPBACK}:{metrics_port}/metrics",
    }
    return ready_or_stopped(record, record.urls["metrics"], timeout)
