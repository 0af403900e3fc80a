"""The local lab stack: which processes ``labctl up`` started, where, and how to stop them.

Everything lives in one run directory (default ``./run``)::

    run/stack.json         the processes we started: pid, start time, command, URLs
    run/logs/<name>.log    each process's output
    run/leaky_app.db       the service's SQLite database
    run/flags.json         the service's hot-reloaded runtime config
    run/debug.token        bearer token of the service's /debug/ surface (mode 0600)
    run/smtp/              what the SMTP sink received (messages.jsonl) and its fail switch
    run/prometheus.yml     Prometheus config rendered for the loopback ports (when installed)
    run/logs/redis.log     redis-server, with ``labctl up --redis`` (nothing saved to disk)

Usage::

    stack = Stack(Path("run"))
    status = stack.up()          # idempotent: a healthy running stack is kept
    print(status.urls)
    stack.down()                 # stops only what up started, by PID
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from labctl import prometheus, smtp_sink
from labctl.ports import LOOPBACK, free_port, preferred_or_free
from labctl.processes import ProcessRecord, spawn, stop, wait_http_ok
from labctl.redis_server import REDIS, start_redis

DEFAULT_SERVICE_PORT = 8000
DEFAULT_STREAM_PORT = 8001
DEFAULT_METRICS_PORT = 9464
DEFAULT_DEBUG_PORT = 6060
DEFAULT_REDIS_PORT = 6379
SERVICE = "service"


@dataclass(frozen=True)
class ServicePorts:
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
            http=preferred_or_free(DEFAULT_SERVICE_PORT),
            stream=preferred_or_free(DEFAULT_STREAM_PORT),
            metrics=preferred_or_free(DEFAULT_METRICS_PORT),
            debug=preferred_or_free(DEFAULT_DEBUG_PORT),
            smtp=preferred_or_free(smtp_sink.DEFAULT_PORT),
            smtp_metrics=preferred_or_free(smtp_sink.DEFAULT_METRICS_PORT),
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


@dataclass
class StackStatus:
    run_dir: Path
    running: dict[str, ProcessRecord] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)

    @property
    def urls(self) -> dict[str, str]:
        return {
            f"{name} {what}": url
            for name, rec in self.running.items()
            for what, url in rec.urls.items()
        }


def service_command(ports: ServicePorts, run_dir: Path, host: str = LOOPBACK) -> list[str]:
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
        str(run_dir / "leaky_app.db"),
        "--flags-file",
        str(run_dir / "flags.json"),
        "--debug-port",
        str(ports.debug),
        "--debug-token-file",
        str(run_dir / "debug.token"),
        "--smtp-port",
        str(ports.smtp),
    ]


def sink_command(ports: ServicePorts, run_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "labctl",
        "smtp",
        "serve",
        "--port",
        str(ports.smtp),
        "--metrics-port",
        str(ports.smtp_metrics),
        "--dir",
        str(sink_dir(run_dir)),
    ]


def sink_dir(run_dir: Path) -> Path:
    """Where the SMTP sink keeps what it received (see :class:`labctl.smtp_sink.Mailbox`)."""
    return run_dir / "smtp"


def start_sink(run_dir: Path, ports: ServicePorts, *, timeout: float = 30.0) -> ProcessRecord:
    """Start the SMTP sink and wait until its /metrics answers (it listens for SMTP first)."""
    record = spawn(smtp_sink.SINK, sink_command(ports, run_dir), run_dir / "logs" / "smtp.log")
    metrics = f"http://{LOOPBACK}:{ports.smtp_metrics}/metrics"
    record.urls = {"smtp": f"smtp://{LOOPBACK}:{ports.smtp}", "metrics": metrics}
    try:
        wait_http_ok(metrics, record, timeout=timeout)
    except Exception:
        stop(record)
        raise
    return record


def start_service(
    run_dir: Path,
    ports: ServicePorts,
    *,
    timeout: float = 30.0,
    extra_args: list[str] | None = None,
    cwd: Path | None = None,
) -> ProcessRecord:
    """Start the patient and wait until ``/readyz`` answers 200. ``python -m`` imports the
    ``leaky_app`` in ``cwd`` first, when there is one (a patched copy, say)."""
    cmd = service_command(ports, run_dir) + (extra_args or [])
    record = spawn(SERVICE, cmd, run_dir / "logs" / f"{SERVICE}.log", cwd=cwd)
    base = f"http://{LOOPBACK}:{ports.http}"
    record.urls = {
        "api": base,
        "docs": f"{base}/docs",
        "metrics": f"http://{LOOPBACK}:{ports.metrics}/metrics",
        "debug": f"http://{LOOPBACK}:{ports.debug}/debug/",
        "stream": f"ws://{LOOPBACK}:{ports.stream}/ws/clicks",
    }
    try:
        wait_http_ok(f"{base}/readyz", record, timeout=timeout)
    except Exception:
        stop(record)
        raise
    return record


def prometheus_port() -> int:
    return preferred_or_free(prometheus.DEFAULT_PORT)


def _host_port(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _service_smtp_port(service: ProcessRecord, default: int) -> int:
    cmd = service.cmd
    return int(cmd[cmd.index("--smtp-port") + 1]) if "--smtp-port" in cmd else default


def _sink_smtp_port(sink: ProcessRecord, default: int) -> int:
    url = sink.urls.get("smtp", "")
    return int(url.rsplit(":", 1)[1]) if url.count(":") == 2 else default


class Stack:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.state_file = run_dir / "stack.json"

    def _load(self) -> dict[str, ProcessRecord]:
        try:
            data = json.loads(self.state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return {name: ProcessRecord.from_json(rec) for name, rec in data.items()}

    def _save(self, records: dict[str, ProcessRecord]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        payload = {name: rec.to_json() for name, rec in records.items()}
        self.state_file.write_text(json.dumps(payload, indent=2) + "\n")

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
        progress: Callable[[str], None] = lambda _msg: None,
        *,
        redis: bool = False,
    ) -> StackStatus:
        """Start what is not running. ``redis`` adds a redis-server and gives the service
        ``--redis-url`` (the shared rate limit and leader lease, as in docker compose)."""
        records = self.status().running
        chosen = ports or ServicePorts.choose()
        service_args: list[str] = []
        if redis:
            if REDIS not in records:
                # Like the other parts: the documented port for a user's stack, any free one
                # when the caller chose the ports (tests, a second lab).
                port = free_port() if ports is not None else preferred_or_free(DEFAULT_REDIS_PORT)
                records[REDIS] = start_redis(self.run_dir, port, echo=progress)
                self._save(records)
            service_args = ["--redis-url", records[REDIS].urls["redis"]]
            if SERVICE in records and "--redis-url" not in records[SERVICE].cmd:
                progress("the service runs without Redis; for it: labctl down, labctl up --redis")
        if smtp_sink.SINK not in records:
            if SERVICE in records:
                # The running service mails the port it was started with.
                chosen = replace(chosen, smtp=_service_smtp_port(records[SERVICE], chosen.smtp))
            progress(" ".join(sink_command(chosen, self.run_dir)))
            records[smtp_sink.SINK] = start_sink(self.run_dir, chosen)
            self._save(records)
        if SERVICE not in records:
            chosen = replace(chosen, smtp=_sink_smtp_port(records[smtp_sink.SINK], chosen.smtp))
            progress(" ".join(service_command(chosen, self.run_dir) + service_args))
            records[SERVICE] = start_service(self.run_dir, chosen, extra_args=service_args)
            self._save(records)
        if prometheus.PROMETHEUS not in records:
            if prometheus.binary() is None:
                progress("prometheus is not installed (apt-get install prometheus); skipping it")
            else:
                targets = {
                    prometheus.APP_JOB: [_host_port(records[SERVICE].urls["metrics"])],
                    prometheus.SINK_JOB: [_host_port(records[smtp_sink.SINK].urls["metrics"])],
                }
                records[prometheus.PROMETHEUS] = prometheus.start_prometheus(
                    self.run_dir, prometheus_port(), targets, echo=progress
                )
                self._save(records)
        return self.status()

    def down(self, progress: Callable[[str], None] = lambda _msg: None) -> list[str]:
        stopped = []
        for name, rec in self._load().items():
            if stop(rec):
                progress(f"stopped {name} (pid {rec.pid})")
                stopped.append(name)
        self.state_file.unlink(missing_ok=True)
        return stopped
