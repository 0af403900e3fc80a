"""Configuration of the patient.

Two layers, both validated by pydantic:

* :class:`Settings` is fixed for the life of the process: ports, paths, sizes. It comes from,
  in order of precedence, command-line flags, ``LEAKY_APP_*`` environment variables, a ``.env``
  file in the working directory, and the defaults below. ``leaky-app --help`` lists them.
* :class:`RuntimeConfig` is the hot-reloaded part (seed Q366): log level, rate limits and,
  later, fault flags. It lives in a JSON file (``flags_file``) watched while the service runs;
  see :mod:`leaky_app.hot_reload`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from leaky_app.faults import check_faults

DEFAULT_PORT = 8000
DEFAULT_STREAM_PORT = 8001
DEFAULT_METRICS_PORT = 9464  # the port OpenTelemetry's Prometheus exporter uses by convention

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    """Process settings. Every field is a ``--flag`` and a ``LEAKY_APP_FLAG`` variable."""

    model_config = SettingsConfigDict(
        env_prefix="LEAKY_APP_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",  # .env is shared with docker compose and labctl
        cli_kebab_case=True,
        cli_prog_name="leaky-app",
        cli_implicit_flags=True,
    )

    host: str = Field(default="127.0.0.1", description="interface the API binds to")
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, description="API port")
    metrics_host: str = Field(default="127.0.0.1", description="interface of /metrics")
    metrics_port: int = Field(
        default=DEFAULT_METRICS_PORT,
        ge=0,
        le=65535,
        description="port of the /metrics thread (answers while the loop is blocked); 0 = off",
    )
    db: Path = Field(default=Path("run/leaky_app.db"), description="SQLite database file")
    flags_file: Path = Field(
        default=Path("run/flags.json"), description="hot-reloaded runtime config (JSON)"
    )
    public_url: str | None = Field(
        default=None, description="base of short_url in responses; default http://HOST:PORT"
    )
    cache_max_entries: int = Field(default=10_000, ge=1, description="read cache size")
    rate_limit_max_clients: int = Field(
        default=10_000, ge=1, description="token buckets kept (least recently used evicted)"
    )
    click_flush_seconds: float = Field(
        default=1.0, gt=0, le=60, description="how often buffered click counts are written"
    )
    loop_lag_interval_seconds: float = Field(
        default=0.25, gt=0, le=10, description="event-loop lag probe period"
    )
    gc_freeze_at_startup: bool = Field(
        default=True,
        description="gc.freeze() the start-up heap (seed Q379): full collections skip the "
        "imported modules' objects",
    )
    debug_enabled: bool = Field(default=True, description="serve the /debug/ surface")
    debug_host: str = Field(default="127.0.0.1", description="debug surface interface")
    debug_port: int = Field(default=6060, ge=0, le=65535, description="debug surface port")
    debug_allow_non_loopback: bool = Field(
        default=False, description="allow debug_host other than loopback (logged as a warning)"
    )
    debug_token_file: Path = Field(
        default=Path("run/debug.token"),
        description="the observer's bearer token of /debug/ (every view), written 0600 at start",
    )
    operator_token_file: Path = Field(
        default=Path("run/operator.token"),
        description="the operator's token (fault switches, drills; it seals a drill's flags),"
        " kept across restarts, 0600",
    )
    debug_max_seconds: float = Field(
        default=60.0, gt=0, le=600, description="cap of every seconds= parameter"
    )
    debug_record_task_sites: bool = Field(
        default=True, description="task factory recording each task's creation site"
    )
    fault_cpu_max_items: int = Field(
        default=3000,
        ge=10,
        description="cap: clicks the referrer panel covers, which a click may rescan (cpu_hotloop)",
    )
    fault_max_tasks: int = Field(
        default=50_000, ge=10, description="cap: tasks a fault may hold (task_leak)"
    )
    fault_max_memory_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1024, description="cap: bytes a fault may hold"
    )
    fault_max_heap_rows: int = Field(
        default=600_000, ge=1000, description="cap: gc_churn rows and audit entries"
    )
    fault_max_series: int = Field(
        default=50_000, ge=100, description="cap: metric series a fault may add"
    )
    fault_max_fds: int = Field(
        default=1000,
        ge=10,
        description="cap: descriptors a fault may hold (half the limit at most)",
    )
    fault_max_block_ms: float = Field(
        default=1000.0, gt=0, description="cap: one blocking call's length (loop_blocking)"
    )
    alias_starting_credits: int = Field(
        default=3, ge=0, le=1_000_000, description="credits a new owner has for custom aliases"
    )
    alias_claim_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="an alias claim older than this was stopped by a crash: recovery, at start-up"
        " and as often, compensates it",
    )
    crash_after_claim_step: Literal["reserve", "debit", "activate"] | None = Field(
        default=None,
        description="crash tests only: SIGKILL this process once that step of an alias claim"
        " has committed",
    )
    notify_enabled: bool = Field(
        default=True, description="email link owners (outbox relay and SMTP workers)"
    )
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server for notifications")
    smtp_port: int = Field(default=2525, ge=1, le=65535, description="SMTP server port")
    smtp_timeout_seconds: float = Field(default=5.0, gt=0, le=120, description="per SMTP call")
    notify_sender: str = Field(
        default="links@leaky-app.localhost", description="From: of notification emails"
    )
    notify_workers: int = Field(default=4, ge=1, le=64, description="SMTP sender tasks")
    notify_queue_size: int = Field(
        default=1000, ge=1, le=100_000, description="in-memory queue in front of the workers"
    )
    notify_max_attempts: int = Field(
        default=5, ge=1, le=50, description="refusals before a notice becomes a dead letter"
    )
    notify_backoff_seconds: float = Field(
        default=0.5, gt=0, le=60, description="first retry's backoff ceiling (full jitter)"
    )
    notify_backoff_max_seconds: float = Field(
        default=10.0, gt=0, le=600, description="longest backoff between retries"
    )
    notify_per_recipient_per_minute: float = Field(
        default=120.0, gt=0, le=100_000, description="emails one recipient may get a minute"
    )
    notify_per_recipient_burst: int = Field(
        default=10, ge=1, le=10_000, description="emails one recipient may get back to back"
    )
    notify_poll_seconds: float = Field(
        default=0.5, gt=0, le=60, description="outbox relay poll interval"
    )
    smtp_breaker_threshold: int = Field(
        default=5, ge=1, le=1000, description="consecutive SMTP failures that open the breaker"
    )
    smtp_breaker_ttl_seconds: float = Field(
        default=5.0, gt=0, le=600, description="how long the breaker stays open before a probe"
    )
    instrumented: bool = Field(
        default=True, description="request-id, RED metrics and access-log middleware"
    )
    redis_url: str | None = Field(
        default=None,
        # REDIS_URL too: the name every Redis-aware tool and compose file already uses.
        validation_alias=AliasChoices("redis_url", "LEAKY_APP_REDIS_URL", "REDIS_URL"),
        description="Redis for leader election and the shared rate limit (redis://host:port/0)",
    )
    redis_key_prefix: str = Field(
        default="leaky_app",
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="prefix of every Redis key (instances sharing it share leadership)",
    )
    trusted_proxies: str | None = Field(
        default=None,
        pattern=r"^[0-9A-Fa-f:.,/ *]+$",
        description="addresses of the proxies whose X-Forwarded-For is believed (comma-separated; "
        "unset: none, so a client cannot choose the address the rate limit keys on)",
    )
    reputation_target: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]+:[0-9]{1,5}$",
        description="host:port of the internal reputation service (gRPC, mTLS); unset: no checks",
    )
    reputation_pki: Path | None = Field(
        default=None,
        description="folder with ca.crt and leaky-app.crt/.key/.token (labctl up: run/pki)",
    )
    reputation_deadline_seconds: float = Field(
        default=0.5, gt=0, le=10, description="deadline of each reputation call, retries included"
    )
    reputation_breaker_threshold: int = Field(
        default=5, ge=1, le=1000, description="consecutive failed checks that open the breaker"
    )
    reputation_breaker_ttl_seconds: float = Field(
        default=5.0, gt=0, le=600, description="how long that breaker stays open before a probe"
    )
    scheduler_lock_file: Path | None = Field(
        default=None,
        description="leader lock without Redis; default: beside the database (DB.scheduler-lock)",
    )
    leader_ttl_seconds: float = Field(
        default=5.0, ge=0.5, le=300, description="leader lease; a follower takes over after it"
    )
    expiry_interval_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="how often the leader deletes expired links"
    )
    ws_max_clients: int = Field(
        default=20_000, ge=1, le=1_000_000, description="live click-stream subscribers at most"
    )
    ws_max_per_client: int = Field(
        default=20,
        ge=1,
        le=1_000_000,
        description="anonymous click-stream subscriptions one address may hold (token: no limit)",
    )
    ws_queue_size: int = Field(
        default=64,
        ge=1,
        le=100_000,
        description="events a subscriber may fall behind, then it is dropped (slow consumer)",
    )
    stream_port: int = Field(
        default=DEFAULT_STREAM_PORT,
        ge=0,
        le=65535,
        description="port of the lean click-stream websocket listener (ws://host:port/ws/clicks,"
        " about 7 KiB per idle connection where /ws/clicks on the API port takes 36); 0 = off",
    )
    ws_per_message_deflate: bool = Field(
        default=False,
        description="websocket compression: saves bandwidth, costs tens of KiB per connection",
    )
    tracing_enabled: bool = Field(default=True, description="OpenTelemetry spans (seed Q362)")
    trace_sample_ratio: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="share of requests traced; a caller's traceparent decides for its request",
    )
    trace_buffer_spans: int = Field(
        default=1000, ge=10, le=100_000, description="finished spans kept for /debug/traces"
    )
    otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "otlp_endpoint", "LEAKY_APP_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"
        ),
        description="OTLP/HTTP collector base URL (spans go to /v1/traces), e.g. "
        "http://127.0.0.1:4318",
    )

    @model_validator(mode="after")
    def _reputation_needs_its_certificates(self) -> Settings:
        if self.reputation_target is not None and self.reputation_pki is None:
            raise ValueError(
                "reputation_target needs reputation_pki (the folder of its mTLS files)"
            )
        return self

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def leader_lock_path(self) -> Path:
        return self.scheduler_lock_file or self.db.with_name(self.db.name + ".scheduler-lock")


class RateLimitConfig(BaseModel):
    """Per-client token bucket (seed Q361): ``rps`` tokens a second, ``burst`` at most."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    rps: float = Field(default=1000.0, gt=0, le=1_000_000)
    burst: int = Field(default=2000, ge=1, le=10_000_000)


class AccessLogConfig(BaseModel):
    """Which requests get an access-log line: errors and slow ones always, fast successes at
    ``sample_rate`` (none by default: the RED metrics count them, and a 1% sample costs 1-2
    points of a redirect's CPU time, ``bench/results/request_path_cost.md``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    sample_rate: float = Field(default=0.0, ge=0, le=1, description="share of fast successes")
    slow_ms: float = Field(default=250.0, ge=0, description="always log requests this slow")


class RuntimeConfig(BaseModel):
    """The hot-reloaded flags file. Unknown keys are refused so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    log_level: LogLevel = "INFO"
    rate_limit: RateLimitConfig = RateLimitConfig()
    access_log: AccessLogConfig = AccessLogConfig()
    faults: dict[str, str] = Field(
        default_factory=dict, description='planted faults switched on: {"id": "10x"}'
    )
    drill: bool = Field(default=False, description="hide fault state from metrics")
    sealed_faults: str | None = Field(
        default=None,
        description="a drill's faults, sealed with the operator token (leaky_app.admin.drill_seal)",
    )

    @field_validator("faults")
    @classmethod
    def _known_faults(cls, value: dict[str, str]) -> dict[str, str]:
        check_faults(value)
        return value


class ConfigError(ValueError):
    """The flags file could not be read or did not validate; the message says where and why."""


def load_runtime_config(path: Path) -> RuntimeConfig:
    """Read and validate the flags file; a missing file means the defaults."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return RuntimeConfig()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    try:
        return RuntimeConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
