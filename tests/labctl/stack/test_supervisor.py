"""``labctl up`` is idempotent and ``labctl down`` stops exactly what it started, by PID."""

from pathlib import Path

import httpx
import psutil
import pytest
import redis

from labctl.contract import GRAFANA, REDIS, REPUTATION, SERVICE, SINK
from labctl.stack import grafana_server
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import stop
from labctl.stack.prometheus import PrometheusMissing
from labctl.stack.supervisor import NotRunning, Stack
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


def test_up_is_idempotent_and_down_stops_by_pid(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "run")
    ports = ServicePorts.free()
    said: list[str] = []
    first = stack.up(ports, progress=said.append)
    record = first.running[SERVICE]
    assert "prometheus" in first.running  # Debian's prometheus is installed by make test
    # Grafana joins where it is installed (Debian has no package); else up says how to get it.
    if grafana_server.binary() is None:
        assert grafana_server.INSTALL_HINT in said and GRAFANA not in first.running
    else:
        assert GRAFANA in first.running
    try:
        assert httpx.get(f"{record.urls['api']}/livez", timeout=5).status_code == 200
        second = stack.up(ports)
        assert second.running[SERVICE].pid == record.pid  # kept, not restarted
        reputation = second.running[REPUTATION]
        assert reputation.pid == first.running[REPUTATION].pid
        assert "reputation_calls" in httpx.get(reputation.urls["metrics"], timeout=5).text
        assert set(stack.down()) == {SERVICE, SINK, REPUTATION, "prometheus"} | (
            {GRAFANA} & set(first.running)
        )
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


def test_up_with_redis_shares_the_limit_and_lease_and_down_stops_redis(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "run")
    status = stack.up(ServicePorts.free(), redis=True)
    try:
        assert REDIS in status.running
        service, url = status.running[SERVICE], status.running[REDIS].urls["redis"]
        assert service.cmd[service.cmd.index("--redis-url") + 1] == url
        ready = httpx.get(f"{service.urls['api']}/readyz", timeout=5).json()
        assert ready["degraded"] == {}, ready  # Redis answers
        client = redis.Redis.from_url(url)
        with client:
            # The service holds the scheduler's lease in this Redis, and limits through it.
            eventually_sync(lambda: client.get("leaky_app:leader:scheduler") is not None, "lease")
            httpx.get(f"{service.urls['api']}/api/v1/links/nothere", timeout=5)
            assert client.keys("leaky_app:ratelimit:*") != []
        assert set(stack.down()) == {SERVICE, SINK, REDIS, REPUTATION, "prometheus"}
    finally:
        for rec in status.running.values():
            stop(rec)


def test_without_prometheus_nothing_starts_and_the_sentence_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no prometheus on it
    stack = Stack(tmp_path / "run")
    with pytest.raises(PrometheusMissing, match="sudo apt-get install prometheus") as missing:
        stack.up(ServicePorts.free())
    assert missing.value.exit_code == 3
    assert stack.status().running == {} and not (tmp_path / "run").exists()


def test_a_status_names_what_is_not_running_and_how_to_start_it(tmp_path: Path) -> None:
    status = Stack(tmp_path).status()
    with pytest.raises(NotRunning, match=r"Prometheus is not running.*labctl up") as missing:
        _ = status.prometheus_url
    assert missing.value.exit_code == 3
