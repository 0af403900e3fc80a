"""URL reputation checks against a vendor API, before redirecting."""

from __future__ import annotations

import time


class ReputationClient:
    """``latency_ms`` > 0 turns checks on; the vendor SDK it wraps is synchronous."""

    def __init__(self, max_block_ms: float = 2000.0) -> None:
        self.latency_ms = 0.0
        self.max_block_ms = max_block_ms

    def lookup(self, url: str) -> str:
        if not self.latency_ms:
            return "unchecked"
        return self._vendor_verdict(url, min(self.latency_ms, self.max_block_ms) / 1000)

    @staticmethod
    def _vendor_verdict(url: str, round_trip_s: float) -> str:
        time.sleep(round_trip_s)  # a blocking HTTP round trip, called from async code
        return "clean"
