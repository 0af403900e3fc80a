"""One real service process shared by the integration tests that can share it.

Started with ``labctl.stack.start_service`` (the same code ``make up`` runs) on free loopback
ports, stopped by PID at the end of the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from labctl.processes import ProcessRecord, stop
from labctl.stack import ServicePorts, start_service


@dataclass
class LiveService:
    record: ProcessRecord
    ports: ServicePorts
    run_dir: Path

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

    def debug_client(self) -> httpx.Client:
        token = (self.run_dir / "debug.token").read_text().strip()
        return httpx.Client(
            base_url=self.debug_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    @property
    def log(self) -> Path:
        return Path(self.record.log)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)


def launch(run_dir: Path) -> LiveService:
    ports = ServicePorts.free()
    record = start_service(run_dir, ports)
    return LiveService(record, ports, run_dir)


@pytest.fixture(scope="session")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    service = launch(tmp_path_factory.mktemp("live"))
    try:
        yield service
    finally:
        stop(service.record)
