"""How a caller reaches the reputation service: its certificate for the TLS handshake, its
token in every call's metadata, and the server's name checked against the lab CA.

Usage (synchronous, as ``labctl`` calls it)::

    identity = Identity.of(Path("run/pki"), "labctl")
    with identity.channel("127.0.0.1:50051") as channel:
        stub = pb_grpc.ReputationStub(channel)
        stub.CheckUrl(pb.CheckUrlRequest(url="https://example.org/"), timeout=2)

``identity.aio_channel(target)`` gives the same for ``grpc.aio`` (the patient).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from reputation import policy
from reputation.key_pairs import read_matching_pair

# Retries for the calls that change nothing (the checks), with backoff, in gRPC's own service
# config: UNAVAILABLE only (a restart, a dropped connection), never a refusal.
RETRY_POLICY = {
    "methodConfig": [
        {
            "name": [
                {"service": policy.SERVICE, "method": "CheckUrl"},
                {"service": policy.SERVICE, "method": "CheckHost"},
            ],
            "retryPolicy": {
                "maxAttempts": 3,
                "initialBackoff": "0.05s",
                "maxBackoff": "0.5s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ]
}


class TokenFile(grpc.AuthMetadataPlugin):
    """Sends ``authorization: Bearer <token>``, re-reading the file when a rotation rewrites
    it, so a long-lived channel keeps a valid token."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = -1
        self._token = ""

    def token(self) -> str:
        stamp = self.path.stat().st_mtime_ns
        if stamp != self._stamp:
            self._token = self.path.read_text().strip()
            self._stamp = stamp
        return self._token

    def __call__(
        self, context: grpc.AuthMetadataContext, callback: grpc.AuthMetadataPluginCallback
    ) -> None:
        try:
            callback((("authorization", f"Bearer {self.token()}"),), None)
        except OSError as exc:
            callback((), exc)


@dataclass(frozen=True)
class Identity:
    """One caller's files under the lab's PKI folder."""

    ca: Path
    cert: Path
    key: Path
    token: Path | None  # None: no token at all (what a test of the refusal sends)

    @classmethod
    def of(cls, pki: Path, caller: str) -> Identity:
        return cls(
            pki / "ca.crt", pki / f"{caller}.crt", pki / f"{caller}.key", pki / f"{caller}.token"
        )

    def credentials(self) -> grpc.ChannelCredentials:
        cert, key = read_matching_pair(self.cert, self.key)
        tls = grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes(), private_key=key, certificate_chain=cert
        )
        if self.token is None:
            return tls
        return grpc.composite_channel_credentials(
            tls, grpc.metadata_call_credentials(TokenFile(self.token), name="lab-token")
        )

    def options(self, server_name: str = policy.SERVER_NAME) -> list[tuple[str, Any]]:
        # The target is an address (127.0.0.1:PORT); the name checked in the server's
        # certificate is the service's, as a client inside a cluster would check it.
        return [
            ("grpc.ssl_target_name_override", server_name),
            ("grpc.service_config", json.dumps(RETRY_POLICY)),
            ("grpc.enable_retries", 1),
        ]

    def channel(self, target: str, server_name: str = policy.SERVER_NAME) -> grpc.Channel:
        return grpc.secure_channel(target, self.credentials(), self.options(server_name))

    def aio_channel(self, target: str, server_name: str = policy.SERVER_NAME) -> grpc.aio.Channel:
        return grpc.aio.secure_channel(target, self.credentials(), self.options(server_name))
