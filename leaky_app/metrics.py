"""Every metric the patient exports, namespace ``leaky_app``.

Build them on an explicit registry, never the global one, so tests and several app instances
in one process do not collide::

    registry = CollectorRegistry()
    metrics = Metrics.create(registry)

Labels are bounded by construction: ``route`` is the route *template* (``/{code}``), never the
code, alias or URL; ``status`` is the numeric status; ``generation`` is 0, 1 or 2.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from leaky_app import __version__
from leaky_app.http_metrics import HttpMetrics

NAMESPACE = "leaky_app"

# `_created` series double the sample count of every counter and histogram and nobody
# graphs them; the switch is process-global in prometheus-client.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Request latency: dense below 100 ms where a healthy shortener lives, sparse above.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# GC pauses and loop lag live between tens of microseconds and seconds.
PAUSE_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip

UNMATCHED_ROUTE = "unmatched"


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    http: HttpMetrics
    rate_limited: Counter
    links_created: Counter
    alias_claims_recovered: Counter
    redirects: Counter
    cache_entries: Gauge
    cache_lookups: Counter
    click_flushes: Counter
    event_loop_lag: Histogram
    asyncio_tasks: Gauge
    allocated_blocks: Gauge
    gc_pause: Histogram
    config_reloads: Counter
    build_info: Info
    notify: NotifyMetrics
    scheduler: SchedulerMetrics
    rate_limit_backend_errors: Counter
    ws: WebsocketMetrics
    reputation: ReputationMetrics

    @classmethod
    def create(cls, registry: CollectorRegistry, *, runtime_collectors: bool = True) -> Metrics:
        """Create every metric on ``registry``.

        ``runtime_collectors`` adds prometheus-client's process, platform and GC collectors
        (``process_*``, ``python_info``, ``python_gc_*``) to the same registry.
        """
        if runtime_collectors:
            # Fresh instances on our registry; the stock ones live on the global registry.
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        ns = NAMESPACE
        build_info = Info(
            "build", "Version of the service and of Python.", namespace=ns, registry=registry
        )
        build_info.info({"version": __version__, "python": platform.python_version()})
        return cls(
            registry=registry,
            http=HttpMetrics(registry, LATENCY_BUCKETS),
            rate_limited=Counter(
                "rate_limited_requests",
                "Requests refused with 429 by the per-client rate limiter.",
                ["route"],
                namespace=ns,
                registry=registry,
            ),
            links_created=Counter(
                "links_created",
                "Short links created, by API version.",
                ["api_version"],
                namespace=ns,
                registry=registry,
            ),
            alias_claims_recovered=Counter(
                "alias_claims_recovered",
                "Alias claims a crash left half done, compensated by recovery, by outcome"
                " (released: no credit had been taken; refunded).",
                ["outcome"],
                namespace=ns,
                registry=registry,
            ),
            redirects=Counter(
                "redirects",
                "Short-link resolutions, by result (found, missing, expired).",
                ["result"],
                namespace=ns,
                registry=registry,
            ),
            cache_entries=Gauge(
                "cache_entries",
                "Entries held by each in-process cache.",
                ["cache"],
                namespace=ns,
                registry=registry,
            ),
            cache_lookups=Counter(
                "cache_lookups",
                "Cache lookups by cache and result (hit, miss).",
                ["cache", "result"],
                namespace=ns,
                registry=registry,
            ),
            click_flushes=Counter(
                "click_flushes",
                "Batches of buffered click counts written to the database.",
                namespace=ns,
                registry=registry,
            ),
            event_loop_lag=Histogram(
                "event_loop_lag_seconds",
                "How late the event loop ran a timer that should have fired on time.",
                namespace=ns,
                registry=registry,
                buckets=PAUSE_BUCKETS,
            ),
            asyncio_tasks=Gauge(
                "asyncio_tasks",
                "asyncio tasks alive on the service's event loop.",
                namespace=ns,
                registry=registry,
            ),
            allocated_blocks=_allocated_blocks(ns, registry),
            gc_pause=Histogram(
                "gc_pause_seconds",
                "Stop-the-world time of each garbage collection, by generation.",
                ["generation"],
                namespace=ns,
                registry=registry,
                buckets=PAUSE_BUCKETS,
            ),
            config_reloads=Counter(
                "config_reloads",
                "Hot reloads of the flags file, by result (applied, rejected).",
                ["result"],
                namespace=ns,
                registry=registry,
            ),
            build_info=build_info,
            notify=NotifyMetrics.create(registry),
            scheduler=SchedulerMetrics.create(registry),
            ws=WebsocketMetrics.create(registry),
            reputation=ReputationMetrics.create(registry),
            rate_limit_backend_errors=Counter(
                "rate_limit_backend_errors",
                "Shared (Redis) rate-limit checks that failed and fell back to the local bucket.",
                namespace=ns,
                registry=registry,
            ),
        )


# A call to the reputation service on loopback takes about a millisecond; the deadline is 0.5 s.
REPUTATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class ReputationMetrics:
    """The calls to the internal reputation service (seed Q376)."""

    checks: Counter
    call_seconds: Histogram
    fallbacks: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ReputationMetrics:
        ns = NAMESPACE
        return cls(
            checks=Counter(
                "reputation_checks",
                "URL (link creation) and host (redirect) checks, by outcome: safe, unsafe, "
                "cached (no call), unavailable.",
                ["call", "outcome"],
                namespace=ns,
                registry=registry,
            ),
            call_seconds=Histogram(
                "reputation_call_seconds",
                "Time of each call to the reputation service, retries included.",
                ["call"],
                namespace=ns,
                registry=registry,
                buckets=REPUTATION_BUCKETS,
            ),
            fallbacks=Counter(
                "reputation_fallbacks",
                "Redirects let through unchecked because the reputation service failed.",
                ["call"],
                namespace=ns,
                registry=registry,
            ),
        )


@dataclass(frozen=True)
class WebsocketMetrics:
    """The live click stream's connections (seed Q375)."""

    clients: Gauge
    events_sent: Counter
    dropped_slow: Counter
    refused: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> WebsocketMetrics:
        ns = NAMESPACE
        return cls(
            clients=Gauge(
                "ws_clients",
                "Websocket subscribers of the live click stream connected now.",
                namespace=ns,
                registry=registry,
            ),
            events_sent=Counter(
                "ws_events_sent",
                "Click events written to websocket subscribers.",
                namespace=ns,
                registry=registry,
            ),
            dropped_slow=Counter(
                "ws_dropped_slow",
                "Websocket subscribers dropped for falling a whole queue behind (slow consumers).",
                namespace=ns,
                registry=registry,
            ),
            refused=Counter(
                "ws_refused",
                "Websocket subscriptions refused, by reason: full (the subscriber cap), per_client"
                " (an address's cap), token_required (every link's clicks without the token).",
                ["reason"],
                namespace=ns,
                registry=registry,
            ),
        )


@dataclass(frozen=True)
class SchedulerMetrics:
    """Leader election and the scheduled jobs (seed Q372)."""

    leader: Gauge
    job_runs: Counter
    job_items: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> SchedulerMetrics:
        ns = NAMESPACE
        return cls(
            leader=Gauge(
                "scheduler_leader",
                "1 while this instance holds the scheduler's leader lease, else 0.",
                namespace=ns,
                registry=registry,
            ),
            job_runs=Counter(
                "scheduler_job_runs",
                "Scheduled job runs on this instance, by job and result (ok, error).",
                ["job", "result"],
                namespace=ns,
                registry=registry,
            ),
            job_items=Counter(
                "scheduler_job_items",
                "Items scheduled jobs handled on this instance (expire_links: links deleted).",
                ["job"],
                namespace=ns,
                registry=registry,
            ),
        )


# From a notice staged in the outbox to the SMTP server's acceptance: seconds to minutes.
DELIVERY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
BREAKER_STATES = ("closed", "open", "half_open")


@dataclass(frozen=True)
class NotifyMetrics:
    """The notifier's metrics (queue, outbox, SMTP sends, breaker, dead letters)."""

    smtp_sends: Counter
    notifications: Counter
    delivery_seconds: Histogram
    throttled: Counter
    queue_depth: Gauge
    outbox_pending: Gauge
    dead_letters: Gauge
    breaker_state: Gauge
    breaker_transitions: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> NotifyMetrics:
        ns = NAMESPACE
        return cls(
            smtp_sends=Counter(
                "smtp_sends",
                "SMTP transactions tried, by outcome (accepted, rejected, unreachable).",
                ["outcome"],
                namespace=ns,
                registry=registry,
            ),
            notifications=Counter(
                "notifications",
                "Notices finished, by kind and result (sent, dead).",
                ["kind", "result"],
                namespace=ns,
                registry=registry,
            ),
            delivery_seconds=Histogram(
                "notification_delivery_seconds",
                "Time from a notice staged in the outbox to the SMTP server accepting it.",
                namespace=ns,
                registry=registry,
                buckets=DELIVERY_BUCKETS,
            ),
            throttled=Counter(
                "notifications_throttled",
                "Notices put back because their recipient's per-minute allowance was spent.",
                namespace=ns,
                registry=registry,
            ),
            queue_depth=Gauge(
                "notify_queue_depth",
                "Notices waiting in the in-memory queue for a worker.",
                namespace=ns,
                registry=registry,
            ),
            outbox_pending=Gauge(
                "outbox_pending",
                "Outbox rows not yet accepted by the SMTP server (the durable backlog).",
                namespace=ns,
                registry=registry,
            ),
            dead_letters=Gauge(
                "notification_dead_letters",
                "Notices given up on (the dead-letter list), until retried.",
                namespace=ns,
                registry=registry,
            ),
            breaker_state=Gauge(
                "circuit_breaker_state",
                "1 for the state each circuit breaker is in (closed, open, half_open).",
                ["breaker", "state"],
                namespace=ns,
                registry=registry,
            ),
            breaker_transitions=Counter(
                "circuit_breaker_transitions",
                "Circuit breaker state changes, by breaker and the state entered.",
                ["breaker", "state"],
                namespace=ns,
                registry=registry,
            ),
        )

    def set_breaker_state(self, breaker: str, state: str) -> None:
        for name in BREAKER_STATES:
            self.breaker_state.labels(breaker=breaker, state=name).set(1.0 if name == state else 0)


def _allocated_blocks(ns: str, registry: CollectorRegistry) -> Gauge:
    # sys.getallocatedblocks() is O(1): the Python heap's live object memory blocks, the
    # closest cheap "heap size" CPython offers (RSS also counts freed-but-kept arenas).
    gauge = Gauge(
        "python_allocated_blocks",
        "Memory blocks the Python allocator holds for live objects (sys.getallocatedblocks).",
        namespace=ns,
        registry=registry,
    )
    gauge.set_function(sys.getallocatedblocks)
    return gauge
