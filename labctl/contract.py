"""What the doctor and the patient agree on, stated once: default ports, the run directory's
layout, the capture window, the names in stack.json and the metric names labctl reads.

``labctl`` never imports ``leaky_app``, so the patient states its side in its own settings
(``leaky_app/settings.py``) and compose in ``.env``; ``tests/labctl/test_contract.py`` checks
the three against each other and every metric name here against the patient's registry.

Usage::

    layout = RunLayout(Path("run"))
    layout.debug_token                    # run/debug.token
    CAPTURE.check(seconds)                # a sentence, exit 2, for a window no probe takes
    f"rate({Metric.REQUESTS}[1m])"        # "rate(leaky_app_http_requests_total[1m])"
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from labctl.errors import LabctlError

# Default loopback ports, as documented; `labctl up` takes a free one where one is taken.
SERVICE_PORT = 8000
STREAM_PORT = 8001  # the click stream's own websocket port
METRICS_PORT = 9464  # the patient's /metrics thread
DEBUG_PORT = 6060  # the patient's /debug/ surface (Go's pprof port)
SMTP_PORT = 2525  # the lab's SMTP sink
SMTP_METRICS_PORT = 9465  # the sink's /metrics
PROMETHEUS_PORT = 9090
REDIS_PORT = 6379
REPUTATION_PORT = 50051  # the internal gRPC reputation service (mTLS); gRPC's customary port
REPUTATION_METRICS_PORT = 9466  # its /metrics
GRAFANA_PORT = 3000  # compose, and labctl up where grafana-server is installed
JUPYTER_PORT = 8888  # compose only

# Names of the lab's processes in stack.json (and of their logs).
SERVICE = "service"
SINK = "smtp-sink"
PROMETHEUS = "prometheus"
REDIS = "redis"
LOAD = "load"
CROWD = "ws-crowd"
REPUTATION = "reputation"
GRAFANA = "grafana"

# Job names of the Prometheus config (dashboards/prometheus/prometheus.yml).
APP_JOB = "leaky-app"
SINK_JOB = "smtp-sink"
REPUTATION_JOB = "reputation"


@dataclass(frozen=True)
class RunLayout:
    """Where the lab keeps its state under one run directory (default ``./run``)::

    stack.json        the processes labctl started: pid, start time, command, URLs
    logs/NAME.log     each process's output
    leaky_app.db      the service's SQLite database
    flags.json        the service's hot-reloaded runtime config
    debug.token       the observer's bearer token of the service's /debug/ surface (0600)
    operator.token    the operator's: fault switches, drills; it seals drill state (0600)
    pki/              the lab CA, a certificate and key per party, the callers' tokens (0600)
    smtp/             what the SMTP sink received, and its fail switch
    prometheus.yml    Prometheus config rendered for the loopback ports
    prometheus-data/  Prometheus' storage
    grafana/          a native Grafana's provisioning (rendered), data and logs
    load/             locust's statistics
    lab.json          the lab that runs (labctl lab start)
    drill.json        the drill that runs (labctl drill start)
    workshop.json     the workshop this lab reports to, its key, unsent results (0600)
    profiles/         every capture's artefacts, a folder each
    """

    root: Path

    @property
    def stack_file(self) -> Path:
        return self.root / "stack.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    @property
    def db(self) -> Path:
        return self.root / "leaky_app.db"

    @property
    def flags(self) -> Path:
        return self.root / "flags.json"

    @property
    def debug_token(self) -> Path:
        return self.root / "debug.token"

    @property
    def operator_token(self) -> Path:
        return self.root / "operator.token"

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def smtp(self) -> Path:
        return self.root / "smtp"

    @property
    def prometheus_config(self) -> Path:
        return self.root / "prometheus.yml"

    @property
    def prometheus_data(self) -> Path:
        return self.root / "prometheus-data"

    @property
    def grafana(self) -> Path:
        return self.root / "grafana"

    @property
    def load(self) -> Path:
        return self.root / "load"

    @property
    def lab_state(self) -> Path:
        return self.root / "lab.json"

    @property
    def drill_state(self) -> Path:
        return self.root / "drill.json"

    @property
    def workshop(self) -> Path:
        return self.root / "workshop.json"

    @property
    def profiles(self) -> Path:
        return self.root / "profiles"


@dataclass(frozen=True)
class CaptureWindow:
    """The one window every capture takes (``diagnose``, ``profile cpu|heap|gc``): whole
    seconds, because py-spy's and memray's ``--duration`` count whole seconds, from
    ``min_seconds`` to ``max_seconds``. The lab's service takes heap windows of at most its
    ``debug_max_seconds`` (:data:`DEBUG_WINDOW_MAX_SECONDS` by default), checked against the
    service itself before a capture starts."""

    min_seconds: int
    max_seconds: int

    def check(self, seconds: float, flag: str = "--seconds") -> int:
        """The window in whole seconds, or a :class:`LabctlError` (exit 2) that says why not."""
        if seconds != int(seconds):
            raise LabctlError(
                f"{flag} takes whole seconds (py-spy and memray count whole seconds), not "
                f"{seconds:g}",
                2,
            )
        if not self.min_seconds <= seconds <= self.max_seconds:
            raise LabctlError(
                f"{flag} must be between {self.min_seconds} and {self.max_seconds}, not "
                f"{seconds:g}",
                2,
            )
        return int(seconds)


CAPTURE = CaptureWindow(min_seconds=1, max_seconds=3600)
DEBUG_WINDOW_MAX_SECONDS = 60.0  # the patient's default debug_max_seconds


class Metric(enum.StrEnum):
    """Every metric name labctl reads (top, diagnose, GC tuning, dashboards, labs)."""

    # The patient (namespace leaky_app) and the process collector.
    REQUESTS = "leaky_app_http_requests_total"
    LATENCY = "leaky_app_http_request_duration_seconds"
    REDIRECTS = "leaky_app_redirects_total"
    CAMPAIGN_CLICKS = "leaky_app_campaign_clicks_total"
    RATE_LIMITED = "leaky_app_rate_limited_requests_total"
    CACHE_ENTRIES = "leaky_app_cache_entries"
    CACHE_LOOKUPS = "leaky_app_cache_lookups_total"
    TASKS = "leaky_app_asyncio_tasks"
    LOOP_LAG = "leaky_app_event_loop_lag_seconds"
    GC_PAUSE = "leaky_app_gc_pause_seconds"
    ALLOCATED_BLOCKS = "leaky_app_python_allocated_blocks"
    FAULT_ACTIVE = "leaky_app_fault_active"
    SMTP_SENDS = "leaky_app_smtp_sends_total"
    BREAKER = "leaky_app_circuit_breaker_state"
    NOTIFICATIONS = "leaky_app_notifications_total"
    DELIVERY = "leaky_app_notification_delivery_seconds"
    DEAD_LETTERS = "leaky_app_notification_dead_letters"
    QUEUE_DEPTH = "leaky_app_notify_queue_depth"
    OUTBOX_PENDING = "leaky_app_outbox_pending"
    SCHEDULER_ITEMS = "leaky_app_scheduler_job_items_total"
    SCHEDULER_LEADER = "leaky_app_scheduler_leader"
    WS_CLIENTS = "leaky_app_ws_clients"
    WS_DROPPED = "leaky_app_ws_dropped_slow_total"
    REPUTATION_CHECKS = "leaky_app_reputation_checks_total"
    REPUTATION_LATENCY = "leaky_app_reputation_call_seconds"
    REPUTATION_FALLBACKS = "leaky_app_reputation_fallbacks_total"
    CPU = "process_cpu_seconds_total"
    RSS = "process_resident_memory_bytes"
    OPEN_FDS = "process_open_fds"
    MAX_FDS = "process_max_fds"
    # The lab's SMTP sink.
    SINK_MESSAGES = "lab_smtp_sink_messages_total"
    # The reputation service, on its own /metrics.
    REPUTATION_SERVED = "reputation_calls_total"

    @property
    def bucket(self) -> str:
        """The histogram's bucket series (``LATENCY.bucket``)."""
        return f"{self.value}_bucket"

    @property
    def summed(self) -> str:
        """The histogram's ``_sum`` series."""
        return f"{self.value}_sum"

    @property
    def observations(self) -> str:
        """The histogram's ``_count`` series (``str.count`` is taken)."""
        return f"{self.value}_count"
