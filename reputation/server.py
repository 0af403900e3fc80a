"""The reputation service as a process: ``grpc.aio`` over mutual TLS, a token interceptor, the
standard health service and its own ``/metrics``.

Usage::

    python -m reputation --pki run/pki --port 50051 --metrics-port 9466

It serves ``lab.reputation.v1.Reputation`` on 127.0.0.1 only to clients whose certificate the
lab CA signed, and each call only with a token for that same caller (:mod:`reputation.policy`).
Certificates are re-read on the first handshake after ``labctl pki rotate`` writes new ones.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import grpc
import jwt
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from reputation import policy
from reputation.handshakes import HandshakeLog
from reputation.key_pairs import PairMismatch, read_matching_pair
from reputation.rules import Judgement, Malformed, Rules, check_host, check_url
from reputation.tracing import ServerSpans
from reputation.v1 import reputation_pb2 as pb
from reputation.v1 import reputation_pb2_grpc as pb_grpc

log = logging.getLogger("reputation")

DEFAULT_PORT = 50051  # labctl's contract and compose's .env say the same (a test checks)
DEFAULT_METRICS_PORT = 9466
DEFAULT_URL_LOOKUP_MS = 50.0  # a URL reputation API answers in tens of milliseconds
MAX_MESSAGE_BYTES = 16 * 1024  # a URL is at most 2 KiB; anything bigger is refused by gRPC
HEALTH_PREFIX = "/grpc.health.v1.Health/"  # probes need the certificate, not a token


class Metrics:
    """Every metric of the service; labels are bounded (methods, status codes, reasons)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "reputation_calls",
            "Calls answered, by method and status code",
            ["method", "code"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "reputation_refusals",
            "Calls refused by the token check",
            ["reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "reputation_call_seconds",
            "Time to answer a call",
            ["method"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1),
        )
        self.blocked_hosts = Gauge(
            "reputation_blocked_hosts", "Hosts on the blocklist", registry=self.registry
        )
        self.handshake_refusals = Counter(
            "reputation_handshake_refusals",
            "TLS handshakes refused, by reason (reputation.handshakes.LABELS)",
            ["reason"],
            registry=self.registry,
        )
        self.cert_reloads = Counter(
            "reputation_certificate_reloads",
            "Server certificates loaded after a rotation",
            registry=self.registry,
        )


# ----------------------------------------------------------------------------- the token check


@dataclass(frozen=True)
class Refusal:
    code: grpc.StatusCode
    reason: str  # the metric label: one of a fixed few
    message: str


def _certificate_name(auth: Mapping[str, Iterable[bytes]]) -> str | None:
    names = list(auth.get("x509_common_name") or [])
    return names[0].decode() if names else None


def judge_token(
    method: str, authorization: str | None, certificate_name: str | None, public_key: bytes
) -> tuple[str | None, Refusal | None]:
    """The caller a token names, or why the call is refused. The token must be a JWT the
    lab signed for this audience, unexpired, naming a caller allowed ``method``, presented over
    a connection whose client certificate is that caller's own (a stolen token is not enough)."""
    unauthenticated = grpc.StatusCode.UNAUTHENTICATED
    if not authorization:
        return None, Refusal(
            unauthenticated,
            "missing_token",
            "no token: send 'authorization: Bearer <token>' metadata",
        )
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None, Refusal(
            unauthenticated,
            "malformed_token",
            "the authorization metadata must be 'Bearer <token>'",
        )
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=["ES256"],
            audience=policy.AUDIENCE,
            issuer=policy.ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        return None, Refusal(unauthenticated, "expired", "the token has expired")
    except jwt.InvalidAudienceError:
        return None, Refusal(
            unauthenticated, "wrong_audience", f"the token is not for {policy.AUDIENCE}"
        )
    except jwt.InvalidSignatureError:
        return None, Refusal(unauthenticated, "bad_signature", "the token's signature is wrong")
    except jwt.InvalidTokenError as exc:
        return None, Refusal(unauthenticated, "invalid_token", f"the token is invalid: {exc}")
    caller = str(claims["sub"])
    denied = grpc.StatusCode.PERMISSION_DENIED
    if certificate_name != caller:
        return caller, Refusal(
            denied,
            "certificate_mismatch",
            f"the token names {caller!r} but the client certificate is {certificate_name!r}",
        )
    if method not in policy.ALLOWED.get(caller, frozenset()):
        return caller, Refusal(denied, "method_not_allowed", f"{caller} may not call {method}")
    return caller, None


Resp = TypeVar("Resp")
if TYPE_CHECKING:  # grpc-stubs makes these generic; at run time they are plain classes
    AioContext = grpc.aio.ServicerContext[Any, Any]
    _Interceptor = grpc.aio.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.aio.ServerInterceptor


class TokenInterceptor(_Interceptor):
    """Checks every call's token (:func:`judge_token`) before the method runs; refuses with
    UNAUTHENTICATED or PERMISSION_DENIED and a message, counted by reason, logged with the
    peer's address."""

    def __init__(self, public_key: bytes, metrics: Metrics) -> None:
        self.public_key = public_key
        self.metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        full_method = handler_call_details.method
        if handler is None or handler.unary_unary is None or full_method.startswith(HEALTH_PREFIX):
            return handler
        method = full_method.rsplit("/", 1)[-1]
        metadata = dict(handler_call_details.invocation_metadata or ())
        authorization = metadata.get("authorization")
        # grpc-stubs types handlers as synchronous; under grpc.aio they are coroutines.
        inner = cast("Callable[[Any, AioContext], Awaitable[Any]]", handler.unary_unary)

        async def checked(request: Any, context: AioContext) -> Any:
            name = _certificate_name(context.auth_context())
            token = authorization if isinstance(authorization, str) else None
            _, refusal = judge_token(method, token, name, self.public_key)
            if refusal is not None:
                self.metrics.refusals.labels(refusal.reason).inc()
                self.metrics.calls.labels(method, refusal.code.name).inc()
                log.warning(
                    "refused %s from %s (certificate %r): %s: %s",
                    method,
                    context.peer(),
                    name,
                    refusal.code.name,
                    refusal.message,
                )
                await context.abort(refusal.code, refusal.message)
            return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            checked,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


# --------------------------------------------------------------------------------- the methods


def _verdict(judgement: Judgement) -> pb.Verdict:
    return pb.Verdict(
        safe=judgement.safe,
        reason=pb.Reason.ValueType(judgement.reason),
        detail=judgement.detail,
        ttl_seconds=judgement.ttl_seconds,
    )


class ReputationService(pb_grpc.ReputationServicer):
    def __init__(
        self,
        rules: Rules,
        metrics: Metrics,
        spans: ServerSpans | None = None,
        url_lookup_seconds: float = 0.0,
    ) -> None:
        self.rules = rules
        self.metrics = metrics
        self.spans = spans or ServerSpans(None)
        # A URL's own reputation is looked up in the threat feeds (a host's is known here):
        # that round trip is the time a CheckUrl takes, awaited so other calls go on meanwhile.
        self.url_lookup_seconds = url_lookup_seconds
        metrics.blocked_hosts.set(len(rules.blocked))

    async def _answer(
        self, method: str, context: AioContext, judge: Callable[[], Resp], lookup: float = 0.0
    ) -> Resp:
        started = time.perf_counter()
        try:
            with self.spans.serving(method, context.invocation_metadata()):
                if lookup:
                    await asyncio.sleep(lookup)
                answer = judge()
        except Malformed as exc:
            self.metrics.calls.labels(method, "INVALID_ARGUMENT").inc()
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        self.metrics.calls.labels(method, "OK").inc()
        self.metrics.latency.labels(method).observe(time.perf_counter() - started)
        return answer

    async def CheckUrl(self, request: pb.CheckUrlRequest, context: AioContext) -> pb.Verdict:
        return await self._answer(
            "CheckUrl",
            context,
            lambda: _verdict(check_url(self.rules, request.url)),
            self.url_lookup_seconds,
        )

    async def CheckHost(self, request: pb.CheckHostRequest, context: AioContext) -> pb.Verdict:
        return await self._answer(
            "CheckHost", context, lambda: _verdict(check_host(self.rules, request.host))
        )

    async def BlockHost(
        self, request: pb.BlockHostRequest, context: AioContext
    ) -> pb.BlockHostReply:
        def block() -> pb.BlockHostReply:
            added = self.rules.block(request.host)
            self.metrics.blocked_hosts.set(len(self.rules.blocked))
            if added:
                log.info("blocked %s (%s)", request.host, request.note or "no note")
            return pb.BlockHostReply(added=added, blocked_hosts=len(self.rules.blocked))

        return await self._answer("BlockHost", context, block)


# ---------------------------------------------------------------------------- mTLS and serving


class ServerCertificates:
    """The server's certificate, key and the CA its clients must be signed by, re-read when the
    certificate file changes (it is written last, after its key, so the pair always matches)."""

    def __init__(self, pki: Path, metrics: Metrics) -> None:
        self.cert = pki / f"{policy.SERVER_NAME}.crt"
        self.key = pki / f"{policy.SERVER_NAME}.key"
        self.ca = pki / "ca.crt"
        self.metrics = metrics
        self._loaded = self._stamp()

    def _stamp(self) -> tuple[int, int]:
        return self.cert.stat().st_mtime_ns, self.ca.stat().st_mtime_ns

    def configuration(self) -> Any:
        cert, key = read_matching_pair(self.cert, self.key)
        return grpc.ssl_server_certificate_configuration(
            [(key, cert)], root_certificates=self.ca.read_bytes()
        )

    def fetch(self) -> Any:
        """gRPC calls this before each handshake: a new configuration, or None for the same."""
        try:
            stamp = self._stamp()
            if stamp == self._loaded:
                return None
            config = self.configuration()
        except (OSError, PairMismatch) as exc:  # mid-rotation: keep serving what is loaded
            log.warning("certificate reload postponed: %s", exc)
            return None
        self._loaded = stamp
        self.metrics.cert_reloads.inc()
        log.info("loaded the rotated server certificate %s", self.cert)
        return config

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.dynamic_ssl_server_credentials(
            self.configuration(), self.fetch, require_client_authentication=True
        )


@dataclass
class Running:
    server: grpc.aio.Server
    port: int
    service: ReputationService
    metrics: Metrics


async def start(
    pki: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    rules: Rules | None = None,
    spans: ServerSpans | None = None,
    url_lookup_seconds: float = 0.0,
) -> Running:
    """Start serving (``port=0``: any free one); the caller stops ``Running.server``."""
    metrics = Metrics()
    service = ReputationService(rules or Rules.default(), metrics, spans, url_lookup_seconds)
    public_key = (pki / "tokens.pub").read_bytes()
    server = grpc.aio.server(
        interceptors=[TokenInterceptor(public_key, metrics)],
        options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)],
    )
    pb_grpc.add_ReputationServicer_to_server(service, server)
    health_service = health.aio.HealthServicer()  # type: ignore[attr-defined]  # not in grpc-stubs
    health_pb2_grpc.add_HealthServicer_to_server(health_service, server)
    bound = server.add_secure_port(f"{host}:{port}", ServerCertificates(pki, metrics).credentials())
    await server.start()
    await health_service.set(policy.SERVICE, health_pb2.HealthCheckResponse.SERVING)
    await health_service.set("", health_pb2.HealthCheckResponse.SERVING)
    return Running(server, bound, service, metrics)


async def _serve(args: argparse.Namespace, handshakes: HandshakeLog | None) -> None:
    rules = Rules.from_file(args.blocklist) if args.blocklist else Rules.default()
    spans = ServerSpans.install(args.otlp_endpoint)
    running = await start(args.pki, args.host, args.port, rules, spans, args.url_lookup_ms / 1e3)
    if handshakes is not None:
        refused = running.metrics.handshake_refusals
        handshakes.count_into(lambda refusal: refused.labels(refusal.reason).inc())
    start_http_server(args.metrics_port, addr=args.host, registry=running.metrics.registry)
    log.info(
        "serving %s on %s:%d (mTLS), /metrics on %s:%d",
        policy.SERVICE,
        args.host,
        running.port,
        args.host,
        args.metrics_port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await running.server.stop(grace=2)
    spans.shutdown()  # the last spans go out


def main(argv: Sequence[str] | None = None, handshakes: HandshakeLog | None = None) -> None:
    """Run the service; ``python -m reputation`` passes the handshake log it installed first."""
    parser = argparse.ArgumentParser(
        prog="python -m reputation", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--pki", type=Path, required=True, help="the lab's run/pki folder")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--metrics-port", type=int, default=DEFAULT_METRICS_PORT)
    parser.add_argument("--blocklist", type=Path, help="rules file (default: the bundled one)")
    parser.add_argument("--otlp-endpoint", help="OTLP/HTTP collector for the calls' spans")
    parser.add_argument(
        "--url-lookup-ms",
        type=float,
        default=DEFAULT_URL_LOOKUP_MS,
        help="the threat feeds' round trip that each CheckUrl waits for",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for name in ("tokens.pub", f"{policy.SERVER_NAME}.crt", "ca.crt"):
        if not (args.pki / name).is_file():
            parser.exit(2, f"{args.pki / name} is missing: `labctl up` creates the lab's PKI\n")
    asyncio.run(_serve(args, handshakes))
