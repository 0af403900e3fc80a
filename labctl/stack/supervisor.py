"""The local lab stack: which processes ``labctl up`` started, where, and how to stop them.

Everything lives in one run directory (default ``./run``; its layout is
:class:`labctl.contract.RunLayout`). ``run/stack.json`` records every process the lab started,
by PID and start time, so ``labctl down`` stops only those.

A command reads the stack once, as a :class:`StackStatus`, and hands that object down; the
helpers that start or stop a process (the load, the crowd) record it through the same
object, so it stays true for the rest of the command.

Usage::

    stack = Stack(Path("run"))
    status = stack.up()          # idempotent: a healthy running stack is kept
    print(status.urls)
    stack.down()                 # stops only what up started, by PID
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from labctl import contract
from labctl.contract import GRAFANA, PROMETHEUS, REDIS, REPUTATION, SERVICE, SINK, RunLayout
from labctl.errors import LabctlError
from labctl.stack import grafana_server, prometheus
from labctl.stack.mail_sink import sink_command, sink_listening_port, start_sink
from labctl.stack.ports import ServicePorts, free_ports, preferred_or_free
from labctl.stack.processes import ProcessRecord, stop
from labctl.stack.redis_server import start_redis
from labctl.stack.reputation_service import start_reputation
from labctl.stack.service import mailed_port, service_command, service_env_prefix, start_service

Progress = Callable[[str], None]


class NotRunning(LabctlError):
    """A part of the stack that a command needs is not running; exit code 3."""


def _host_port(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


@dataclass
class StackStatus:
    """The stack as one command found it: what runs (by name), and what was recorded but
    has gone (``stale``)."""

    run_dir: Path
    running: dict[str, ProcessRecord] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)

    @property
    def layout(self) -> RunLayout:
        return RunLayout(self.run_dir)

    @property
    def urls(self) -> dict[str, str]:
        return {
            f"{name} {what}": url
            for name, rec in self.running.items()
            for what, url in rec.urls.items()
        }

    def require(self, name: str, what: str) -> ProcessRecord:
        """The record of ``name``, or :class:`NotRunning` saying how to start it."""
        record = self.running.get(name)
        if record is None:
            raise NotRunning(
                f"{what} is not running (no live process in {self.run_dir}); start it with: "
                "labctl up",
                3,
            )
        return record

    @property
    def prometheus_url(self) -> str:
        return self.require(PROMETHEUS, "Prometheus").urls["ui"]

    def adopt(self, name: str, record: ProcessRecord) -> None:
        """Record a process started for this stack (the load, a test's service), so later
        ``labctl`` commands given this run directory find it and ``down`` stops it."""
        Stack(self.run_dir).adopt(name, record)
        self.running[name] = record

    def forget(self, name: str) -> ProcessRecord | None:
        """Drop ``name`` from the record (the caller stops it) and return its record."""
        self.running.pop(name, None)
        return Stack(self.run_dir).forget(name)


class Stack:
    """The run directory's ``stack.json``: read, start what is missing, stop by PID."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.layout = RunLayout(run_dir)

    def _load(self) -> dict[str, ProcessRecord]:
        try:
            data = json.loads(self.layout.stack_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return {name: ProcessRecord.from_json(rec) for name, rec in data.items()}

    def _save(self, records: dict[str, ProcessRecord]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        payload = {name: rec.to_json() for name, rec in records.items()}
        self.layout.stack_file.write_text(json.dumps(payload, indent=2) + "\n")

    def adopt(self, name: str, record: ProcessRecord) -> None:
        """Record a process started elsewhere (a test's service) as part of this stack, so
        ``labctl`` commands given this run directory find it."""
        records = self._load()
        records[name] = record
        self._save(records)

    def forget(self, name: str) -> ProcessRecord | None:
        """Drop ``name`` from the record (the caller stops it) and return its record."""
        records = self._load()
        record = records.pop(name, None)
        if record is not None:
            self._save(records)
        return record

    def status(self) -> StackStatus:
        status = StackStatus(run_dir=self.run_dir)
        for name, rec in self._load().items():
            if rec.alive():
                status.running[name] = rec
            else:
                status.stale.append(name)
        return status

    def up(
        self,
        ports: ServicePorts | None = None,
        progress: Progress = lambda _msg: None,
        *,
        redis: bool = False,
    ) -> StackStatus:
        """Start what is not running. ``redis`` adds a redis-server and gives the service
        ``--redis-url`` (the shared rate limit and leader lease, as in docker compose).
        Prometheus is part of every stack (the alerts, dashboards and labs read it): without
        it installed, nothing starts and :class:`PrometheusMissing` says how to install it.
        Grafana joins where it is installed; where not, ``progress`` says how to install it."""
        if prometheus.binary() is None:
            raise prometheus.PrometheusMissing(
                "prometheus is not installed; the lab's alerts, dashboards and labs need it: "
                "sudo apt-get install prometheus (make up does it as root)",
                3,
            )
        records = self.status().running
        chosen = ports or ServicePorts.choose()

        def part_port(documented: int) -> int:
            # Like the other parts: the documented port for a user's stack, any free one
            # when the caller chose the ports (tests, a second lab).
            if ports is not None:
                return free_ports(1, avoid=chosen.all())[0]
            return preferred_or_free(documented)

        service_args: list[str] = []
        if redis:
            if REDIS not in records:
                port = part_port(contract.REDIS_PORT)
                records[REDIS] = start_redis(self.layout, port, echo=progress)
                self._save(records)
            service_args = ["--redis-url", records[REDIS].urls["redis"]]
            if SERVICE in records and "--redis-url" not in records[SERVICE].cmd:
                progress("the service runs without Redis; for it: labctl down, labctl up --redis")
        if REPUTATION not in records:
            if ports is not None:  # any free ones, but not the service's (not bound yet)
                grpc_port, metrics_port = free_ports(2, avoid=chosen.all())
            else:
                grpc_port = preferred_or_free(contract.REPUTATION_PORT)
                metrics_port = preferred_or_free(contract.REPUTATION_METRICS_PORT)
            records[REPUTATION] = start_reputation(
                self.layout, grpc_port, metrics_port, echo=progress
            )
            self._save(records)
        if SINK not in records:
            if SERVICE in records:
                # The running service mails the port it was started with.
                chosen = replace(chosen, smtp=mailed_port(records[SERVICE], chosen.smtp))
            progress(" ".join(sink_command(chosen, self.layout)))
            records[SINK] = start_sink(self.layout, chosen)
            self._save(records)
        if SERVICE not in records:
            chosen = replace(chosen, smtp=sink_listening_port(records[SINK], chosen.smtp))
            # The patient checks new links and redirect targets with the reputation service.
            service_args += ["--reputation-target", records[REPUTATION].urls["grpc"],
                             "--reputation-pki", str(self.layout.pki)]  # fmt: skip
            command = service_command(chosen, self.layout) + service_args
            progress(" ".join([service_env_prefix(), *command]))
            records[SERVICE] = start_service(self.layout, chosen, extra_args=service_args)
            self._save(records)
        if PROMETHEUS not in records:
            targets = {
                contract.APP_JOB: [_host_port(records[SERVICE].urls["metrics"])],
                contract.SINK_JOB: [_host_port(records[SINK].urls["metrics"])],
                contract.REPUTATION_JOB: [_host_port(records[REPUTATION].urls["metrics"])],
            }
            records[PROMETHEUS] = prometheus.start_prometheus(
                self.layout, preferred_or_free(contract.PROMETHEUS_PORT), targets, echo=progress
            )
            self._save(records)
        if GRAFANA not in records:
            if grafana_server.binary() is None:
                progress(grafana_server.INSTALL_HINT)
            else:
                port = part_port(contract.GRAFANA_PORT)
                records[GRAFANA] = grafana_server.start_grafana(
                    self.layout, port, records[PROMETHEUS].urls["ui"], echo=progress
                )
                self._save(records)
        return self.status()

    def down(self, progress: Progress = lambda _msg: None) -> list[str]:
        stopped = []
        for name, rec in self._load().items():
            if rec.attached:
                progress(f"left {name} running (pid {rec.pid}): attached, not started by labctl")
            elif stop(rec):
                progress(f"stopped {name} (pid {rec.pid})")
                stopped.append(name)
        self.layout.stack_file.unlink(missing_ok=True)
        return stopped
