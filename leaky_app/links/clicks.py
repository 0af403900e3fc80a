"""Click counting, buffered in memory and written in batches.

A redirect must not wait for a database write, so each click bumps an in-memory counter and
a background loop adds the batch to SQLite every ``interval`` seconds (and once more at
shutdown). Readers add what is still pending, so counts are exact while the process lives;
a ``kill -9`` loses at most one interval of clicks, never a link.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from prometheus_client import Counter

from leaky_app.links.store import ClickBatch, LinkStore

log = logging.getLogger(__name__)


class ClickBuffer:
    def __init__(
        self,
        store: LinkStore,
        flushes: Counter,
        interval: float = 1.0,
        on_staged: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._on_staged = on_staged  # milestone notices were staged in the outbox
        self._flushes = flushes
        self.interval = interval
        self._pending: dict[str, ClickBatch] = {}
        # A flush swaps the pending counts out before its write commits; a reader between
        # the two would see the clicks in neither place. Readers hold this with the flush.
        self._writing = asyncio.Lock()

    def record(self, code: str, now: float | None = None) -> None:
        at = time.time() if now is None else now
        previous = self._pending.get(code)
        count = previous.count + 1 if previous else 1
        self._pending[code] = ClickBatch(count=count, last_at=at)

    def pending(self, code: str) -> ClickBatch | None:
        """Clicks not yet written; read it with the store inside :meth:`settled`."""
        return self._pending.get(code)

    def settled(self) -> asyncio.Lock:
        """``async with buffer.settled():`` no flush is half done (counts swapped out of the
        buffer but not yet committed) while the caller reads the store and the buffer."""
        return self._writing

    def discard(self, code: str) -> None:
        self._pending.pop(code, None)

    async def flush(self) -> int:
        async with self._writing:
            # Swap before awaiting: clicks recorded during the write land in the next batch.
            batch, self._pending = self._pending, {}
            if not batch:
                return 0
            try:
                staged = await self._store.add_clicks(batch)
            except Exception:
                # Put the counts back so a transient failure loses nothing.
                for code, b in batch.items():
                    newer = self._pending.get(code)
                    if newer is None:
                        self._pending[code] = b
                    else:
                        self._pending[code] = ClickBatch(newer.count + b.count, newer.last_at)
                raise
        self._flushes.inc()
        if staged:
            self._on_staged()
        return len(batch)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception:
                log.exception("click flush failed; counts kept for the next try")
