"""A lab service that ``labctl`` did not start (docker compose, another terminal, a colleague's
machine tunnelled to loopback), recorded in a run directory so that every ``labctl`` command
given that folder works on it, as on a service of ``labctl up``. ``labctl down`` leaves it
running: it was not ours to stop.

Usage::

    target = ServiceAddress(api="http://127.0.0.1:8000", debug="http://127.0.0.1:6060",
                            metrics="http://127.0.0.1:9464", stream="ws://127.0.0.1:8001")
    record = attach_service(RunLayout(Path("run/compose")), target, token, operator_token)
    # then: labctl fault on cpu_hotloop --run-dir run/compose
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import psutil

from labctl.contract import SERVICE, RunLayout
from labctl.errors import LabctlError
from labctl.stack.private_files import write_private
from labctl.stack.processes import ProcessRecord, python_version
from labctl.stack.supervisor import Stack


class AttachError(LabctlError):
    """The service cannot be attached as given; the message says what to pass instead."""


@dataclass(frozen=True)
class ServiceAddress:
    """Where a running lab service answers, as this machine reaches it."""

    api: str
    debug: str
    metrics: str
    stream: str

    def urls(self) -> dict[str, str]:
        """The URLs a record of ``labctl up`` carries, so every command finds its own."""
        api = self.api.rstrip("/")
        return {
            "api": api,
            "docs": f"{api}/docs",
            "metrics": f"{self.metrics.rstrip('/').removesuffix('/metrics')}/metrics",
            "debug": f"{self.debug.rstrip('/').removesuffix('/debug')}/debug/",
            "stream": f"{self.stream.rstrip('/').removesuffix('/ws/clicks')}/ws/clicks",
        }


def _port(url: str) -> int:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AttachError(f"{url!r} is not an http:// URL", 2)
    return parts.port or (443 if parts.scheme == "https" else 80)


def listener_pid(port: int) -> int | None:
    """The process listening on ``port`` on this machine, if one can be seen (root sees every
    process's sockets; others only their own)."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return conn.pid
    return None


def service_pid(address: ServiceAddress, pid: int | None) -> int:
    """``pid`` checked, or the process listening on the API port: a Python process either way,
    since the profilers attach to it."""
    if pid is None:
        pid = listener_pid(_port(address.api))
        if pid is None:
            raise AttachError(
                f"no process of this machine is seen listening on {address.api}; pass --pid "
                "(in docker compose: docker inspect -f '{{.State.Pid}}' <the app container>)",
                2,
            )
    if not psutil.pid_exists(pid):
        raise AttachError(f"no process has pid {pid}", 2)
    if python_version(pid) is None:
        name = psutil.Process(pid).name()
        raise AttachError(
            f"pid {pid} ({name}) is not a Python process; a published container port is "
            "served by docker-proxy: pass --pid of the app itself (docker inspect -f "
            "'{{.State.Pid}}' <the app container>)",
            2,
        )
    return pid


def attach_service(
    layout: RunLayout,
    address: ServiceAddress,
    token: str,
    operator_token: str | None,
    pid: int | None = None,
) -> ProcessRecord:
    """Record the service at ``address`` in ``layout`` with its tokens (0600) and PID. The
    caller checks the tokens against the service (:meth:`Patient.faults`)."""
    for url in (address.api, address.debug, address.metrics):
        _port(url)
    held = Stack(layout.root).status().running.get(SERVICE)
    if held is not None and not held.attached:
        raise AttachError(
            f"{layout.root} holds a service labctl started (pid {held.pid}), whose tokens "
            "would be replaced: attach into another --run-dir",
            2,
        )
    pid = service_pid(address, pid)
    process = psutil.Process(pid)
    layout.root.mkdir(parents=True, exist_ok=True)
    write_private(layout.debug_token, token.strip().encode() + b"\n")
    if operator_token is not None:
        write_private(layout.operator_token, operator_token.strip().encode() + b"\n")
    else:
        layout.operator_token.unlink(missing_ok=True)
    record = ProcessRecord(
        name=SERVICE,
        pid=pid,
        create_time=process.create_time(),
        cmd=process.cmdline(),
        log="",
        urls=address.urls(),
        attached=True,
    )
    Stack(layout.root).adopt(SERVICE, record)
    return record
