"""Wiring: ``create_app(settings, registry)`` builds the patient.

Nothing is global: the registry, the store path and the flags file come in through
arguments, so tests build as many isolated apps as they like::

    app = create_app(Settings(db=tmp / "t.db", metrics_port=0), CollectorRegistry())
    async with app.router.lifespan_context(app):
        ...

The lifespan opens the store, starts the background loops (click flush, loop-lag probe,
config watcher, the notifier's outbox relay and SMTP workers), installs the GC pause
recorder and, when ``metrics_port`` is set, the ``/metrics`` thread; it undoes all of that
on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from leaky_app import __version__, fault_hooks
from leaky_app.admin.dead_letters import dead_letter_endpoints
from leaky_app.admin.drill_seal import DrillSeal
from leaky_app.admin.fault_switches import admin_endpoints
from leaky_app.admin.traces import trace_endpoints
from leaky_app.api import aliases, live, notifications, redirect, v1, v2
from leaky_app.api.scrape import scrape_router
from leaky_app.debug import DebugConfig, DebugServer
from leaky_app.debug.auth import kept_token
from leaky_app.debug.idle_gc import IdleCollector, RequestActivity, idle_gc_endpoints
from leaky_app.debug.tasks import mark_essential
from leaky_app.errors import install_error_handlers
from leaky_app.faults import FaultStateCollector, Switchboard
from leaky_app.health import router as health_router
from leaky_app.hot_reload import ConfigWatcher
from leaky_app.leader import FileLease, Leadership, Lease, RedisLease
from leaky_app.links.alias_claims import AliasClaims, ClaimRecovery, kill_after
from leaky_app.links.cache import ReadCache
from leaky_app.links.campaigns import CampaignClicks
from leaky_app.links.click_stream import ClickStream
from leaky_app.links.clicks import ClickBuffer
from leaky_app.links.expiry import LinkExpiry
from leaky_app.links.exports import ClickExports
from leaky_app.links.preview import Previews
from leaky_app.links.reputation import ReputationClient
from leaky_app.links.safety import CALLER, SafetyConfig, UrlSafety
from leaky_app.links.service import ClickFeatures, LinkService
from leaky_app.links.store import LinkStore
from leaky_app.logs import set_level
from leaky_app.metrics import Metrics
from leaky_app.metrics_server import start_metrics_server
from leaky_app.middleware.telemetry import AccessLogPolicy, TelemetryMiddleware
from leaky_app.notify.mailer import Mailer, MailerConfig
from leaky_app.notify.notifier import Notifier, NotifierConfig
from leaky_app.outbox import Outbox
from leaky_app.ratelimit import RateLimiter, SlidingWindowLimiter, TokenBucketLimiter
from leaky_app.runtime.gc_pauses import GCPauseRecorder
from leaky_app.runtime.loop_lag import LoopLagMonitor
from leaky_app.scheduler import Job, Scheduler
from leaky_app.services import Services
from leaky_app.settings import RuntimeConfig, Settings
from leaky_app.stream_server import PATH as STREAM_PATH
from leaky_app.stream_server import StreamServer
from leaky_app.tracing import FASTAPI_TELEMETRY_OFF, Tracing
from leaky_app.tracing import install as install_tracing
from reputation.client import Identity

log = logging.getLogger(__name__)


def _count_tasks(loop: asyncio.AbstractEventLoop) -> int:
    # Called from the /metrics thread; all_tasks retries internally if the set changes.
    try:
        return len(asyncio.all_tasks(loop))
    except RuntimeError:
        return 0


# A Redis that does not answer must not hold a request (rate limit) or a lease renewal for
# long: both fall back (local bucket, stepping down) after this.
REDIS_TIMEOUT_SECONDS = 0.5


def _redis(settings: Settings) -> Redis | None:
    if settings.redis_url is None:
        return None
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


def _rate_limiter(settings: Settings, redis: Redis | None, metrics: Metrics) -> RateLimiter:
    config = RuntimeConfig().rate_limit  # the watcher applies the flags file's at load
    local = TokenBucketLimiter(config, max_clients=settings.rate_limit_max_clients)
    shared = None
    if redis is not None:
        shared = SlidingWindowLimiter(redis, settings.redis_key_prefix, config)
    return RateLimiter(local, shared, metrics.rate_limit_backend_errors)


def _safety(settings: Settings, metrics: Metrics) -> UrlSafety | None:
    if settings.reputation_target is None or settings.reputation_pki is None:
        return None
    config = SafetyConfig(
        target=settings.reputation_target,
        pki=settings.reputation_pki,
        deadline_seconds=settings.reputation_deadline_seconds,
        breaker_threshold=settings.reputation_breaker_threshold,
        breaker_ttl_seconds=settings.reputation_breaker_ttl_seconds,
    )
    return UrlSafety(config, metrics.reputation, metrics.notify)


def _screening(settings: Settings) -> ReputationClient:
    """Its cap (fault_max_block_ms) is set with every fault's, in fault_hooks.connect."""
    if settings.reputation_target is None or settings.reputation_pki is None:
        return ReputationClient()
    identity = Identity.of(settings.reputation_pki, CALLER)
    return ReputationClient(identity, settings.reputation_target)


def _leadership(settings: Settings, redis: Redis | None, metrics: Metrics) -> Leadership:
    lease: Lease
    if redis is not None:
        key = f"{settings.redis_key_prefix}:leader:scheduler"
        lease = RedisLease(redis, key, settings.leader_ttl_seconds)
    else:
        lease = FileLease(settings.leader_lock_path)
    gauge = metrics.scheduler.leader
    return Leadership(lease, settings.leader_ttl_seconds, lambda leads: gauge.set(int(leads)))


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _freeze_startup_heap() -> None:
    """The imported modules leave ~85,000 long-lived objects that every full collection
    walks: about 50 ms on a lab machine, so a clean service paged GCPauseHigh. Frozen, they
    leave the collector's generations for good (Instagram's gc.freeze; seed Q379). Done
    before any pause recorder starts (the debug surface's included), so this one deliberate
    collection is not a symptom."""
    gc.collect()
    gc.freeze()
    log.info("start-up heap frozen: %d objects out of the collector's way", gc.get_freeze_count())


@dataclass
class Parts:
    """What the service is made of before it starts: built once by :func:`create_app`, used
    by its lifespan."""

    settings: Settings
    registry: CollectorRegistry
    metrics: Metrics
    switchboard: Switchboard
    features: ClickFeatures
    mailer: Mailer
    click_stream: ClickStream
    access_log: AccessLogPolicy
    watcher: ConfigWatcher
    tracing: Tracing | None
    operator_token: str | None = None  # leaky_app.debug.auth's operator scope
    seal: DrillSeal | None = None  # seals a drill's faults in the flags file
    # Requests in flight (the middleware counts them), for collections between requests.
    activity: RequestActivity = field(default_factory=RequestActivity)

    @functools.cached_property
    def idle_collector(self) -> IdleCollector:
        return IdleCollector(self.activity)


def _mailer(settings: Settings, metrics: Metrics) -> Mailer:
    config = MailerConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.notify_sender,
        timeout_seconds=settings.smtp_timeout_seconds,
        max_attempts=settings.notify_max_attempts,
        backoff_seconds=settings.notify_backoff_seconds,
        backoff_max_seconds=settings.notify_backoff_max_seconds,
        breaker_threshold=settings.smtp_breaker_threshold,
        breaker_ttl_seconds=settings.smtp_breaker_ttl_seconds,
    )
    return Mailer(config, metrics.notify)


def _parts(settings: Settings, registry: CollectorRegistry) -> Parts:
    metrics = Metrics.create(registry)
    switchboard = Switchboard()
    FaultStateCollector(switchboard, registry)
    features = ClickFeatures(
        campaigns=CampaignClicks(registry, settings.fault_max_series),
        exports=ClickExports(settings.db.parent / "exports"),
        reputation=_screening(settings),
        previews=Previews(settings.base_url),  # its cap is set with the others' (fault_hooks)
    )
    metrics.cache_entries.labels(cache="preview_page").set_function(features.previews.entries)
    mailer = _mailer(settings, metrics)
    click_stream = ClickStream(settings.ws_max_clients, settings.ws_queue_size, metrics.ws,
                               settings.ws_max_per_client)  # fmt: skip
    fault_hooks.connect(switchboard, features, mailer, settings, click_stream)
    access_log = AccessLogPolicy()
    # The operator's token is kept across restarts: it seals a drill's faults in the flags.
    operator = kept_token(settings.operator_token_file) if settings.debug_enabled else None
    seal = DrillSeal(operator) if operator else None
    watcher = ConfigWatcher(
        settings.flags_file,
        on_change=[lambda c: access_log.configure(c.access_log)],
        on_result=lambda result: metrics.config_reloads.labels(result=result).inc(),
        opener=seal.opened if seal else None,
    )
    tracing = (
        install_tracing(settings.trace_buffer_spans, settings.otlp_endpoint)
        if settings.tracing_enabled
        else None
    )
    return Parts(settings, registry, metrics, switchboard, features, mailer, click_stream,
                 access_log, watcher, tracing, operator, seal)  # fmt: skip


def _start_debug_server(parts: Parts, app: FastAPI, loop: asyncio.AbstractEventLoop) -> DebugServer:
    """The debug surface on its own thread, with the service's own endpoint groups."""
    settings = parts.settings
    server = DebugServer(
        DebugConfig(
            token_file=settings.debug_token_file,
            operator_token=parts.operator_token,
            host=settings.debug_host,
            port=settings.debug_port,
            allow_non_loopback=settings.debug_allow_non_loopback,
            max_seconds=settings.debug_max_seconds,
            record_task_sites=settings.debug_record_task_sites,
        ),
        loop=loop,
        settings=lambda: settings.model_dump(mode="json"),
        extra=[
            *admin_endpoints(parts.watcher, parts.switchboard, loop, parts.seal),
            *(trace_endpoints(parts.tracing.recent) if parts.tracing else []),
            *dead_letter_endpoints(lambda: getattr(app.state, "outbox", None), loop),
            *idle_gc_endpoints(parts.idle_collector),
        ],
    )
    server.start()
    log.info("debug surface on %s", server.url)
    return server


def _notifier(settings: Settings, outbox: Outbox, mailer: Mailer, metrics: Metrics) -> Notifier:
    config = NotifierConfig(
        workers=settings.notify_workers,
        queue_size=settings.notify_queue_size,
        per_recipient_per_minute=settings.notify_per_recipient_per_minute,
        per_recipient_burst=settings.notify_per_recipient_burst,
        poll_seconds=settings.notify_poll_seconds,
    )
    return Notifier(outbox, mailer, metrics.notify, config)


@dataclass
class Running:
    """The services a request may use, and the loops the lifespan runs beside them."""

    services: Services
    clicks: ClickBuffer
    scheduler: Scheduler


async def _open_services(parts: Parts, app: FastAPI, undo: AsyncExitStack) -> Running:
    """The store, the notifier, the limiter and the scheduler, wired to the config watcher;
    each registers its undo."""
    settings, metrics, watcher, switchboard = (
        parts.settings, parts.metrics, parts.watcher, parts.switchboard,
    )  # fmt: skip
    store = await LinkStore.open(settings.db)
    undo.push_async_callback(store.close)
    cache = ReadCache(settings.cache_max_entries, metrics.cache_entries, metrics.cache_lookups)
    outbox = Outbox(store.db)
    app.state.outbox = outbox
    notifier = _notifier(settings, outbox, parts.mailer, metrics)
    clicks = ClickBuffer(
        store, metrics.click_flushes, settings.click_flush_seconds, on_staged=notifier.relay.wake
    )
    redis = _redis(settings)
    if redis is not None:
        undo.push_async_callback(redis.aclose)
    limiter = _rate_limiter(settings, redis, metrics)
    leadership = _leadership(settings, redis, metrics)
    expiry = LinkExpiry(store, cache, forget=parts.features.exports.discard)
    crash_after = settings.crash_after_claim_step
    claims = AliasClaims(store, settings.alias_starting_credits,
                         after_step=kill_after(crash_after) if crash_after else None)  # fmt: skip
    recovery = ClaimRecovery(
        claims, settings.alias_claim_timeout_seconds, metrics.alias_claims_recovered
    )
    await recovery.run()  # before serving: what the last process left half done
    scheduler = Scheduler(
        leadership,
        [
            Job("expire_links", settings.expiry_interval_seconds, expiry.run),
            Job("recover_alias_claims", settings.alias_claim_timeout_seconds, recovery.run),
        ],
        metrics.scheduler,
    )
    watcher.add_listener(lambda c: set_level(c.log_level))
    watcher.add_listener(lambda c: limiter.configure(c.rate_limit))
    watcher.add_listener(lambda c: switchboard.apply(c.faults, drill=c.drill))
    undo.callback(switchboard.apply, {})  # release what faults hold, on shutdown too
    watcher.load_initial()
    safety = _safety(settings, metrics)
    if safety is not None:
        undo.push_async_callback(safety.close)
    undo.callback(parts.features.reputation.close)
    links = LinkService(store, cache, clicks, metrics, parts.features,
                        on_staged=notifier.relay.wake, stream=parts.click_stream,
                        safety=safety, claims=claims)  # fmt: skip
    services = Services(
        settings=settings,
        metrics=metrics,
        store=store,
        links=links,
        outbox=outbox,
        alias_claims=claims,
        notifier=notifier,
        limiter=limiter,
        config=watcher,
        switchboard=switchboard,
        leadership=leadership,
        click_stream=parts.click_stream,
        redis=redis,
        safety=safety,
    )
    return Running(services, clicks, scheduler)


async def _start_servers(
    parts: Parts,
    app: FastAPI,
    debug_server: DebugServer | None,
    loop: asyncio.AbstractEventLoop,
    undo: AsyncExitStack,
) -> None:
    """The click stream's port, the task gauge, the GC pause recorder, the /metrics thread."""
    settings, metrics = parts.settings, parts.metrics
    if settings.stream_port:
        stream_server = await StreamServer.start(
            parts.click_stream, metrics.ws, settings.host, settings.stream_port
        )
        undo.push_async_callback(stream_server.stop)
        app.state.stream_server = stream_server
        log.info("click stream on ws://%s:%d%s", settings.host, stream_server.port, STREAM_PATH)
    metrics.asyncio_tasks.set_function(lambda: _count_tasks(loop))
    gc_recorder = GCPauseRecorder(
        metrics.gc_pause, debug_server.pauses if debug_server is not None else None
    )
    gc_recorder.install()
    undo.callback(gc_recorder.uninstall)
    if settings.metrics_port:
        metrics_server = start_metrics_server(
            settings.metrics_host, settings.metrics_port, parts.registry
        )
        undo.callback(metrics_server.stop)
        log.info("metrics on http://%s:%d/metrics", settings.metrics_host, metrics_server.port)


def _start_loops(parts: Parts, running: Running, undo: AsyncExitStack) -> None:
    """The background loops, each cancelled on shutdown; the click buffer flushes after."""
    settings = parts.settings
    undo.push_async_callback(running.clicks.flush)  # runs after the loops are cancelled
    lag = LoopLagMonitor(parts.metrics.event_loop_lag, settings.loop_lag_interval_seconds)
    loops: list[tuple[str, Coroutine[Any, Any, None]]] = [
        ("click-flush", running.clicks.run()),
        ("loop-lag-probe", lag.run()),
        ("config-watch", parts.watcher.run()),
        ("scheduler", running.scheduler.run()),
        ("click-activity", running.services.links.features.activity.run()),
    ]
    if settings.notify_enabled:
        loops.append(("notifier", running.services.notifier.run()))
    for name, coro in loops:
        task = asyncio.create_task(coro, name=name)
        mark_essential(task)  # the debug port may not cancel it
        undo.push_async_callback(_cancel, task)


def _api(parts: Parts, lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]]) -> FastAPI:
    """The public API: routes, error handlers, /metrics on the port when its thread is off
    (:mod:`leaky_app.api.scrape`),
    and the request telemetry."""
    settings = parts.settings
    app = FastAPI(
        title="leaky-app",
        version=__version__,
        description="A link shortener with planted production bugs, for diagnosis training.",
        lifespan=lifespan,
        telemetry=FASTAPI_TELEMETRY_OFF,
    )
    install_error_handlers(app)
    for router in (health_router, v1.router, v2.router, notifications.router, aliases.router,
                   live.router):  # fmt: skip
        app.include_router(router)
    if not settings.metrics_port:  # no metrics thread: served here, off the event loop
        app.include_router(scrape_router(parts.registry, parts.metrics.rate_limited))
    app.include_router(redirect.router)  # last: /{code} must not shadow the fixed paths
    if settings.instrumented:
        app.add_middleware(
            TelemetryMiddleware,
            metrics=parts.metrics,
            access=parts.access_log,
            trace_ratio=settings.trace_sample_ratio if parts.tracing is not None else None,
            activity=parts.activity,
        )
    return app


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> FastAPI:
    parts = _parts(settings, registry if registry is not None else CollectorRegistry())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        # Every start-up step registers its undo, so a failure half-way leaves nothing behind.
        async with AsyncExitStack() as undo:
            if settings.gc_freeze_at_startup:
                _freeze_startup_heap()
            if parts.tracing is not None:
                undo.callback(parts.tracing.flush)  # last: the spans of shutdown go out too
            # First, so the task factory sees every task the service creates from here on.
            debug_server = None
            if settings.debug_enabled:
                debug_server = _start_debug_server(parts, app, loop)
                parts.click_stream.token = debug_server.token  # the observer's, for every link
                undo.callback(debug_server.stop)
                app.state.debug_server = debug_server
            running = await _open_services(parts, app, undo)
            app.state.services = running.services
            await _start_servers(parts, app, debug_server, loop, undo)
            _start_loops(parts, running, undo)
            yield

    return _api(parts, lifespan)
