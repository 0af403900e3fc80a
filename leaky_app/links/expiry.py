"""The scheduled job that deletes links past their TTL (run by the leader only, seed Q372).

Redirects already answer 404 for an expired link that is still stored; this job reclaims
the rows, in batches so one run never holds the database for long.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from leaky_app.links.cache import ReadCache
from leaky_app.links.store import LinkStore

BATCH = 500


class LinkExpiry:
    def __init__(
        self,
        store: LinkStore,
        cache: ReadCache,
        clock: Callable[[], float] = time.time,
        forget: Callable[[str], None] = lambda _code: None,
    ) -> None:
        """``forget`` drops what else a deleted link kept (its click export)."""
        self.store = store
        self.cache = cache
        self._clock = clock
        self._forget = forget

    async def run(self, max_batches: int = 20) -> int:
        """Delete expired links, up to ``max_batches * BATCH`` a run; returns how many."""
        deleted = 0
        for _ in range(max_batches):
            codes = await self.store.delete_expired(self._clock(), BATCH)
            for code in codes:
                self.cache.discard(code)
                self._forget(code)
            deleted += len(codes)
            if len(codes) < BATCH:
                break
        return deleted
