"""Is a URL safe to shorten, is a target safe to redirect to: asked of the internal reputation
service (``reputation/``) over mutual TLS, with the patient's own certificate and token.

A dependency on the request path needs its failure designed, not discovered:

* every call has a deadline, and gRPC retries only UNAVAILABLE, with backoff
  (``reputation.client.RETRY_POLICY``);
* a circuit breaker (purgatory, as around SMTP) stops calling a service that keeps failing,
  and ``/readyz`` says so under ``degraded``: the shortener stays ready;
* **new links fail closed**: while the check cannot be made, creation answers 503 (a link to an
  unchecked URL would carry the shortener's name for as long as it lives);
* **redirects fail open**: a link already checked at creation keeps working while the service
  is down, and the fallback is counted;
* verdicts by host are cached for the TTL the service gives, in a bounded cache, so a redirect
  to a known host costs the hot path no call.

Usage::

    safety = UrlSafety(SafetyConfig("127.0.0.1:50051", Path("run/pki")), metrics.reputation)
    await safety.vet_new("https://example.org/")        # or UnsafeUrl / SafetyUnavailable
    await safety.vet_redirect("https://example.org/a")  # or BlockedTarget; never unavailable
    await safety.close()
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import grpc
from cachetools import TLRUCache
from opentelemetry.trace import SpanKind
from purgatory.domain.model import OpenedState

from leaky_app.breakers import Breaker, BreakerMetrics
from leaky_app.metrics import ReputationMetrics
from leaky_app.tracing import TRACEPARENT, child_span, inject_current
from reputation import policy
from reputation.client import Identity
from reputation.rules import embedded_urls
from reputation.v1 import reputation_pb2 as pb
from reputation.v1 import reputation_pb2_grpc as pb_grpc

if TYPE_CHECKING:  # the async stub's type exists in the generated .pyi only
    # A call: the stub and the metadata to send (the traceparent) to the awaitable reply.
    Ask = Callable[
        [pb_grpc.ReputationAsyncStub, tuple[tuple[str, str], ...]], Awaitable[pb.Verdict]
    ]
CALLER = "leaky-app"  # the name in the patient's certificate and token
BREAKER = "reputation"


class UnsafeUrl(Exception):
    """The reputation service refused the URL (422)."""


class BlockedTarget(Exception):
    """The link's target host is refused now (403): blocked after the link was made."""


class SafetyUnavailable(Exception):
    """No verdict could be had in time (503 for a new link; a redirect fails open)."""


@dataclass(frozen=True)
class SafetyConfig:
    target: str  # host:port of the reputation service
    pki: Path  # the lab PKI folder holding leaky-app.crt, .key, .token and ca.crt
    deadline_seconds: float = 0.5
    breaker_threshold: int = 5
    breaker_ttl_seconds: float = 5.0
    cache_max_hosts: int = 10_000


class _Failed(Exception):
    """A call that failed for the dependency's reasons: it counts towards the breaker."""


def target_hosts(url: str) -> tuple[str, ...]:
    """The hosts a redirect to ``url`` sends users to: its own, then those of the URLs its
    query carries, found as the service's ``CheckUrl`` finds them
    (:func:`reputation.rules.embedded_urls`); the chain's depth was checked when the link was
    made."""
    inner = [host for u in embedded_urls(url) if (host := urlsplit(u).hostname)]
    return tuple(dict.fromkeys(h.lower() for h in (urlsplit(url).hostname or "", *inner)))


class UrlSafety:
    def __init__(
        self,
        config: SafetyConfig,
        metrics: ReputationMetrics,
        breaker_metrics: BreakerMetrics,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.identity = Identity.of(config.pki, CALLER)
        metrics.fallbacks.labels(call="host")  # exposed at 0 from the start, as a rate wants
        self._cached = metrics.checks.labels(call="host", outcome="cached")
        # target URL -> the hosts it sends users to, for the links in use
        self._hosts: dict[str, tuple[str, ...]] = {}
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.ReputationAsyncStub | None = None
        self._cert_stamp = -1
        self._retiring: set[asyncio.Future[None]] = set()
        self.verdicts: TLRUCache[str, pb.Verdict] = TLRUCache(
            maxsize=config.cache_max_hosts,
            ttu=lambda _host, verdict, now: now + verdict.ttl_seconds,
            timer=time.monotonic,
        )
        self.breaker = Breaker(BREAKER, config.breaker_threshold, config.breaker_ttl_seconds,
                               breaker_metrics, exclude=[UnsafeUrl])  # fmt: skip
        self.last_error = ""

    def _client(self) -> pb_grpc.ReputationAsyncStub:
        """The stub, on a channel made again when a rotation renewed the certificate."""
        stamp = self.identity.cert.stat().st_mtime_ns
        if self._stub is None or stamp != self._cert_stamp:
            if self._channel is not None:
                # Calls in flight on the old channel may finish within the grace period.
                retiring = asyncio.ensure_future(self._channel.close(grace=2.0))
                self._retiring.add(retiring)
                retiring.add_done_callback(self._retiring.discard)
            self._channel = self.identity.aio_channel(self.config.target)
            self._stub = pb_grpc.ReputationStub(self._channel)
            self._cert_stamp = stamp
        return self._stub

    async def _ask(self, call: str, method: str, ask: Ask) -> pb.Verdict:
        started = time.perf_counter()
        breaker = await self.breaker.factory.get_breaker(BREAKER)
        try:
            async with breaker:
                try:
                    verdict = await self._traced(method, ask)
                except grpc.aio.AioRpcError as exc:
                    if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                        raise UnsafeUrl(exc.details() or "not a URL the check can read") from None
                    raise _Failed(f"{exc.code().name}: {exc.details()}") from None
                except OSError as exc:  # the certificate files are unreadable
                    raise _Failed(str(exc)) from None
        except OpenedState:
            self.metrics.checks.labels(call=call, outcome="unavailable").inc()
            raise SafetyUnavailable(
                f"the URL safety check is unavailable (circuit breaker open after "
                f"{self.last_error}); try again shortly"
            ) from None
        except _Failed as exc:
            self.last_error = str(exc)
            self.metrics.checks.labels(call=call, outcome="unavailable").inc()
            raise SafetyUnavailable(
                f"the URL safety check is unavailable ({exc}); try again shortly"
            ) from None
        finally:
            self.metrics.call_seconds.labels(call=call).observe(time.perf_counter() - started)
        self.metrics.checks.labels(call=call, outcome="safe" if verdict.safe else "unsafe").inc()
        return verdict

    async def _traced(self, method: str, ask: Ask) -> pb.Verdict:
        """The call, in a client span when the request is traced: its ``traceparent`` goes in
        the metadata, and the reputation service's server span continues the trace.

        By hand rather than with opentelemetry-instrumentation-grpc: the service decides which
        requests to trace before any span starts (``tracing.should_trace``) and its provider
        records whatever starts, so the package's interceptor would make every untraced call a
        new root trace and flood the span buffer; ``child_span`` makes one only under a
        recording span."""
        attributes = {"rpc.system": "grpc", "rpc.service": policy.SERVICE, "rpc.method": method,
                      "server.address": self.config.target}  # fmt: skip
        with child_span(f"reputation {method}", SpanKind.CLIENT, attributes):
            parent = inject_current()
            metadata = ((TRACEPARENT, parent),) if parent else ()
            return await ask(self._client(), metadata)

    async def vet_new(self, url: str) -> None:
        """Raise :class:`UnsafeUrl` (with the service's reason) or, when no verdict can be had,
        :class:`SafetyUnavailable`: new links fail closed."""
        deadline = self.config.deadline_seconds
        request = pb.CheckUrlRequest(url=url)
        verdict = await self._ask(
            "url",
            "CheckUrl",
            lambda stub, md: stub.CheckUrl(request, timeout=deadline, metadata=md),
        )
        if not verdict.safe:
            reason = pb.Reason.Name(verdict.reason).removeprefix("REASON_").lower()
            raise UnsafeUrl(f"{verdict.detail} ({reason})")

    async def vet_redirect(self, url: str) -> None:
        """Raise :class:`BlockedTarget` when a host the target sends users to is refused (its
        own, or one its query carries: :func:`target_hosts`); a host seen within its TTL costs
        no call, and a failed check lets the redirect through (fail open). The verdict is the
        one click-time screening's ``CheckUrl`` gives for a link that was vetted when made."""
        # The hot path makes no new objects for a known target (no URL parsing, no label
        # lookup): whatever allocates on every redirect is also where collections start.
        hosts = self._hosts.get(url)
        if hosts is None:
            if len(self._hosts) >= 4 * self.config.cache_max_hosts:
                self._hosts.clear()
            hosts = self._hosts[url] = target_hosts(url)
        for host in hosts:
            verdict = self.verdicts.get(host)
            if verdict is not None:
                self._cached.inc()
            else:  # only a miss makes a coroutine
                verdict = await self._ask_host(host)
            if verdict is not None and not verdict.safe:
                raise BlockedTarget(f"the link's target is refused: {verdict.detail}")

    async def _ask_host(self, host: str) -> pb.Verdict | None:
        """The host's verdict, asked and cached for its TTL; None when none could be had."""
        deadline = self.config.deadline_seconds
        try:
            request = pb.CheckHostRequest(host=host)
            verdict = await self._ask(
                "host",
                "CheckHost",
                lambda stub, md: stub.CheckHost(request, timeout=deadline, metadata=md),
            )
        except (SafetyUnavailable, UnsafeUrl):
            self.metrics.fallbacks.labels(call="host").inc()
            return None
        self.verdicts[host] = verdict
        return verdict

    def problem(self) -> str | None:
        """For ``/readyz``: why checks cannot be made now, or None."""
        if self.breaker.state == "closed":
            return None
        return (
            f"circuit breaker {self.breaker.state} after: {self.last_error}; new links are "
            "refused (503) and redirects go through unchecked until it closes"
        )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(grace=None)
