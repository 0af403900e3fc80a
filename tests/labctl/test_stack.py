"""``labctl up`` is idempotent and ``labctl down`` stops exactly what it started, by PID."""

from pathlib import Path

import httpx
import psutil
import pytest

from labctl.processes import stop
from labctl.smtp_sink import SINK
from labctl.stack import SERVICE, ServicePorts, Stack

pytestmark = pytest.mark.integration


def test_up_is_idempotent_and_down_stops_by_pid(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "run")
    ports = ServicePorts.free()
    first = stack.up(ports)
    record = first.running[SERVICE]
    assert "prometheus" in first.running  # Debian's prometheus is installed by make test
    try:
        assert httpx.get(f"{record.urls['api']}/livez", timeout=5).status_code == 200
        second = stack.up(ports)
        assert second.running[SERVICE].pid == record.pid  # kept, not restarted
        assert set(stack.down()) == {SERVICE, SINK, "prometheus"}
        assert not psutil.pid_exists(record.pid) or not record.alive()
        assert stack.status().running == {}
        assert stack.down() == []
    finally:
        for rec in first.running.values():
            stop(rec)


def test_stale_record_is_reported_not_signalled(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "run")
    ports = ServicePorts.free()
    running = stack.up(ports).running
    stop(running[SERVICE])
    status = stack.status()
    assert SERVICE not in status.running
    assert status.stale == [SERVICE]
    stack.down()
