"""Click-time screening: the whole target URL checked with the reputation service on each
redirect it is rolled out to, since a page can turn bad after its link was made.

Usage::

    screening = ReputationClient(Identity.of(Path("run/pki"), "leaky-app"), "127.0.0.1:50051")
    screening.share = 0.1                    # one redirect in ten
    if screening.screens():
        refusal = screening.screen("https://example.org/a")   # None when it may go ahead
"""

from __future__ import annotations

import random

import grpc

from reputation.client import Identity
from reputation.v1 import reputation_pb2 as pb
from reputation.v1 import reputation_pb2_grpc as pb_grpc


class ReputationClient:
    """Rolled out to ``share`` of redirects (0: none); needs the reputation service's address
    and the patient's certificate, else it screens nothing."""

    def __init__(
        self,
        identity: Identity | None = None,
        target: str | None = None,
        max_block_ms: float = 1000.0,
    ) -> None:
        self.share = 0.0
        self.max_block_ms = max_block_ms
        self._identity = identity
        self._target = target
        self._channel: grpc.Channel | None = None
        self._stub: pb_grpc.ReputationStub | None = None
        self._cert_stamp = -1

    def screens(self) -> bool:
        """Whether this redirect is screened at click time (the rollout's share of them)."""
        if not self.share or self._target is None:
            return False  # the usual case, on every redirect: no sample drawn
        return random.random() < self.share  # noqa: S311 - a rollout's sample, not a secret

    def screen(self, url: str) -> str | None:
        """Why the URL is refused now, or None: it may go ahead (also when no verdict came)."""
        try:
            verdict = self.url_verdict(url)
        except grpc.RpcError:
            return None  # the redirect was checked when its link was made
        return None if verdict.safe else verdict.detail

    def url_verdict(self, url: str) -> pb.Verdict:
        if self._identity is None or self._target is None:
            raise RuntimeError("click-time screening has no reputation service to ask")
        # A rotation renews the certificate; a channel made before it would present the old one
        # until that expires. One stat per screened redirect, as UrlSafety does.
        stamp = self._identity.cert.stat().st_mtime_ns
        if self._stub is None or stamp != self._cert_stamp:
            self.close()
            self._channel = self._identity.channel(self._target)
            self._stub = pb_grpc.ReputationStub(self._channel)
            self._cert_stamp = stamp
        request = pb.CheckUrlRequest(url=url)
        verdict: pb.Verdict = self._stub.CheckUrl(request, timeout=self.max_block_ms / 1000)
        return verdict

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = self._stub = None
