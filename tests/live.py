"""Live-process fixtures (a plugin, see tests/conftest.py): one real service shared by the
integration, labctl and notebook tests that can share it.

Started with ``labctl.stack.start_service`` (the same code ``make up`` runs) on free loopback
ports, stopped by PID at the end of the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from labctl.contract import APP_JOB, REPUTATION, REPUTATION_JOB, SERVICE, SINK, SINK_JOB, RunLayout
from labctl.stack.mail_sink import Mailbox, start_sink
from labctl.stack.ports import ServicePorts, free_port, free_ports
from labctl.stack.processes import ProcessRecord, stop
from labctl.stack.prometheus import start_prometheus
from labctl.stack.redis_server import start_redis
from labctl.stack.reputation_service import start_reputation
from labctl.stack.service import start_service
from labctl.stack.supervisor import Stack
from tests.integration.load import scrape
from tests.polling import eventually_sync

APPLIED = 'leaky_app_config_reloads_total{result="applied"}'


@dataclass
class LiveService:
    record: ProcessRecord
    ports: ServicePorts
    run_dir: Path
    sink: ProcessRecord
    reputation: ProcessRecord | None = None  # the reputation service it checks links with

    @property
    def mailbox(self) -> Mailbox:
        return Mailbox(RunLayout(self.run_dir).smtp)

    def stop(self) -> None:
        stop(self.record)
        stop(self.sink)
        if self.reputation is not None:
            stop(self.reputation)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.metrics}/metrics"

    @property
    def flags_file(self) -> Path:
        return self.run_dir / "flags.json"

    @property
    def debug_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.debug}"

    def debug_client(self, operator: bool = False) -> httpx.Client:
        """A client of the debug port with the observer's token (every view), or with the
        operator's."""
        layout = RunLayout(self.run_dir)
        token = (layout.operator_token if operator else layout.debug_token).read_text().strip()
        return httpx.Client(
            base_url=self.debug_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def operator_client(self) -> httpx.Client:
        """With the operator's token: the fault switches and the drill too."""
        return self.debug_client(operator=True)

    @property
    def log(self) -> Path:
        return Path(self.record.log)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)


def launch(
    run_dir: Path, extra_args: list[str] | None = None, *, reputation: bool = False
) -> LiveService:
    """The SMTP sink (and, with ``reputation``, the reputation service), then the service
    mailing it (and checking links with it); stop them all with :meth:`LiveService.stop`."""
    layout = RunLayout(run_dir)
    started: list[ProcessRecord] = []
    try:
        args = list(extra_args or [])
        checker = None
        if reputation:  # first: its ports are bound before the service's are chosen
            checker = start_reputation(layout, *free_ports(2))
            started.append(checker)
            args += ["--reputation-target", checker.urls["grpc"],
                     "--reputation-pki", str(layout.pki)]  # fmt: skip
        ports = ServicePorts.free()
        sink = start_sink(layout, ports)
        started.append(sink)
        record = start_service(layout, ports, extra_args=args)
    except Exception:
        for process in started:
            stop(process)
        raise
    Stack(run_dir).adopt(SINK, sink)
    Stack(run_dir).adopt(SERVICE, record)
    if checker is not None:
        Stack(run_dir).adopt(REPUTATION, checker)
    return LiveService(record, ports, run_dir, sink, checker)


@pytest.fixture(scope="session")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    service = launch(tmp_path_factory.mktemp("live"), reputation=True)
    try:
        yield service
    finally:
        service.stop()


@dataclass
class LivePrometheus:
    record: ProcessRecord
    url: str

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=30)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result


@pytest.fixture(scope="session")
def live_prometheus(
    live_service: LiveService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LivePrometheus]:
    """The real Prometheus (Debian's package) scraping the shared live service."""
    port = free_port()
    record = start_prometheus(
        RunLayout(tmp_path_factory.mktemp("prometheus")),
        port,
        {
            APP_JOB: [f"127.0.0.1:{live_service.ports.metrics}"],
            SINK_JOB: [f"127.0.0.1:{live_service.ports.smtp_metrics}"],
            REPUTATION_JOB: [urlsplit(live_service.reputation.urls["metrics"]).netloc]
            if live_service.reputation is not None
            else [],
        },
    )
    try:
        yield LivePrometheus(record, f"http://127.0.0.1:{port}")
    finally:
        stop(record)


def new_links(service: LiveService, n: int, keys: dict[str, str] | None = None) -> list[str]:
    """``n`` links made now; their management keys go in ``keys``, by code."""
    codes = []
    with service.client() as client:
        for i in range(n):
            made = client.post("/api/v1/links", json={"url": f"https://shop.example/p/{i}"}).json()
            codes.append(made["code"])
            if keys is not None:
                keys[made["code"]] = made["management_key"]
    return codes


@dataclass
class FaultLab:
    """The shared live service, seeded with links, with fault switches and a metrics reader."""

    service: LiveService
    codes: list[str]
    keys: dict[str, str] = field(default_factory=dict)  # management keys, by code

    def switch(self, fault_id: str, intensity: str | None) -> dict[str, object]:
        with self.service.operator_client() as debug:
            if intensity is None:
                response = debug.delete(f"/admin/faults/{fault_id}")
            else:
                response = debug.put(f"/admin/faults/{fault_id}", params={"intensity": intensity})
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    def new_links(self, n: int) -> list[str]:
        """``n`` links made now: clicks the service has not seen (their keys in ``keys``)."""
        return new_links(self.service, n, self.keys)

    def all_off(self) -> None:
        with self.service.operator_client() as debug:
            assert debug.delete("/admin/faults").status_code == 200

    @classmethod
    def seeded(cls, service: LiveService, links: int = 20) -> FaultLab:
        """``service`` with ``links`` links to click, and its rate limit off: the load driver
        must measure the service, not the per-client rate limiter."""
        keys: dict[str, str] = {}
        codes = new_links(service, links, keys)
        before = scrape(service.metrics_url).get(APPLIED, 0.0)
        service.flags_file.write_text('{"rate_limit": {"enabled": false}}')
        eventually_sync(
            lambda: scrape(service.metrics_url).get(APPLIED, 0.0) > before,
            "rate limit switched off",
        )
        return cls(service, codes, keys)


@pytest.fixture(scope="session")
def fault_lab(live_service: LiveService) -> Iterator[FaultLab]:
    lab = FaultLab.seeded(live_service)
    try:
        yield lab
    finally:
        lab.all_off()


@pytest.fixture(scope="session")
def lab_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A whole stack as ``make up`` starts it (reputation, sink, service, Prometheus) in its own run
    directory, for the labs and notebooks: a trainee's machine, fresh, with no other test's
    faults in its history. Stopped by PID at the end of the session."""
    run_dir = tmp_path_factory.mktemp("lab-stack")
    stack = Stack(run_dir)
    try:
        status = stack.up(ServicePorts.free())
        assert {SERVICE, SINK, REPUTATION, "prometheus"} <= set(status.running), status
        yield run_dir
    finally:
        stack.down()


@dataclass
class LiveRedis:
    record: ProcessRecord
    url: str

    def stop(self) -> None:
        stop(self.record)


@pytest.fixture
def live_redis(tmp_path: Path) -> Iterator[LiveRedis]:
    """A real redis-server (Debian's package) on a free loopback port, for one test."""
    record = start_redis(RunLayout(tmp_path / "redis"), free_port())
    try:
        yield LiveRedis(record, record.urls["redis"])
    finally:
        stop(record)
