"""The patient as a process of the stack: its command line and its start.

Usage::

    record = start_service(RunLayout(Path("run")), ServicePorts.free())
    record.urls["api"], record.urls["debug"]
"""

from __future__ import annotations

import sys
from pathlib import Path

from labctl.contract import SERVICE, RunLayout
from labctl.stack.ports import LOOPBACK, ServicePorts
from labctl.stack.processes import ProcessRecord, ready_or_stopped, spawn

# glibc raises its mmap threshold each time a mapped block is freed, so after a while a freed
# 136 KiB buffer (a stream backlog, a big response) stays in the heap and resident memory never
# comes back down; a service that has run for hours then shows no recovery after a fix. A fixed
# threshold keeps every block of 128 KiB and more mapped, and freeing it returns it at once
# (lab 09 measures exactly that). The same setting is in the Dockerfile.
SERVICE_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def service_env_prefix() -> str:
    """The environment as a shell prefix, for echoing the command a user could run."""
    return " ".join(f"{name}={value}" for name, value in SERVICE_ENV.items())


def service_command(ports: ServicePorts, layout: RunLayout, host: str = LOOPBACK) -> list[str]:
    return [
        sys.executable,
        "-m",
        "leaky_app",
        "--host",
        host,
        "--port",
        str(ports.http),
        "--stream-port",
        str(ports.stream),
        "--metrics-port",
        str(ports.metrics),
        "--db",
        str(layout.db),
        "--flags-file",
        str(layout.flags),
        "--debug-port",
        str(ports.debug),
        "--debug-token-file",
        str(layout.debug_token),
        "--operator-token-file",
        str(layout.operator_token),
        "--smtp-port",
        str(ports.smtp),
    ]


def start_service(
    layout: RunLayout,
    ports: ServicePorts,
    *,
    timeout: float = 30.0,
    extra_args: list[str] | None = None,
    cwd: Path | None = None,
) -> ProcessRecord:
    """Start the patient and wait until ``/readyz`` answers 200. ``python -m`` imports the
    ``leaky_app`` in ``cwd`` first, when there is one (a patched copy, say)."""
    cmd = service_command(ports, layout) + (extra_args or [])
    record = spawn(SERVICE, cmd, layout.log(SERVICE), env=SERVICE_ENV, cwd=cwd)
    base = f"http://{LOOPBACK}:{ports.http}"
    record.urls = {
        "api": base,
        "docs": f"{base}/docs",
        "metrics": f"http://{LOOPBACK}:{ports.metrics}/metrics",
        "debug": f"http://{LOOPBACK}:{ports.debug}/debug/",
        "stream": f"ws://{LOOPBACK}:{ports.stream}/ws/clicks",
    }
    return ready_or_stopped(record, f"{base}/readyz", timeout)


def mailed_port(service: ProcessRecord, default: int) -> int:
    """The SMTP port a running service was started to mail."""
    cmd = service.cmd
    return int(cmd[cmd.index("--smtp-port") + 1]) if "--smtp-port" in cmd else default
