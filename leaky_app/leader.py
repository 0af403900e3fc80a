"""Leader election for jobs that one instance must run alone (seed Q372).

A :class:`Lease` is the lock; :class:`Leadership` keeps one, renewing it while held and
trying for it while not. Two kinds of lease:

* :class:`FileLease` (the default): an exclusive ``flock`` on a file every instance on the
  host shares. The kernel drops it the moment its holder dies, however it dies, so a
  follower's next try wins. It cannot span hosts.
* :class:`RedisLease` when ``REDIS_URL`` is set: ``SET key holder NX PX ttl``, renewed with a
  compare-and-``PEXPIRE`` script, released with a compare-and-``DEL`` script, so an instance
  never extends or deletes a lease another instance now holds. A killed leader's lease
  lapses after ``ttl``; a follower takes over at its next try after that.

A leader that cannot reach Redis steps down at once. One whose renewals simply stop (its own
event loop stalled past the TTL by a blocking call or a long GC pause) stops counting itself
leader once ``ttl`` has passed since its last renewal, since by then another instance may
hold the lease: :attr:`Leadership.is_leader` checks the clock, not just the last answer.

Usage::

    leadership = Leadership(FileLease(Path("run/scheduler.lock")), ttl=5.0)
    await leadership.step()          # every ttl/3 seconds: renew or try
    if leadership.is_leader: ...     # run the job
    await leadership.resign()        # on shutdown, so a follower need not wait for the TTL
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import filelock
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaseUnavailable(Exception):
    """The lease's backend did not answer (Redis down); nobody can be sure who leads."""


class Lease(Protocol):
    """One lock that at most one holder has at a time."""

    holder: str

    @property
    def describe(self) -> str: ...

    async def acquire(self) -> bool: ...

    async def renew(self) -> bool: ...

    async def release(self) -> None: ...


def holder_id() -> str:
    """Who holds a lease: host, pid and a random part (a restarted pid is someone else)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class FileLease:
    """An exclusive lock on ``path`` held for as long as this process holds it."""

    def __init__(self, path: Path, holder: str | None = None) -> None:
        self.path = path
        self.holder = holder or holder_id()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = filelock.FileLock(path, thread_local=False)

    @property
    def describe(self) -> str:
        return f"file lock {self.path}"

    async def acquire(self) -> bool:
        if self._lock.is_locked:
            return True
        try:
            # One non-blocking flock: a syscall, cheap enough for the event loop.
            self._lock.acquire(blocking=False)
        except filelock.Timeout:
            return False
        return True

    async def renew(self) -> bool:
        return self._lock.is_locked  # the kernel keeps it until release or death

    async def release(self) -> None:
        self._lock.release(force=True)


class RedisLease:
    """``SET key holder NX PX ttl`` on a Redis server shared by every instance."""

    def __init__(self, redis: Redis, key: str, ttl_seconds: float, holder: str | None = None):
        self.redis = redis
        self.key = key
        self.ttl_ms = max(1, int(ttl_seconds * 1000))
        self.holder = holder or holder_id()
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    @property
    def describe(self) -> str:
        return f"redis key {self.key}"

    async def acquire(self) -> bool:
        try:
            won = await self.redis.set(self.key, self.holder, nx=True, px=self.ttl_ms)
        except RedisError as exc:
            raise LeaseUnavailable(f"redis: {exc}") from exc
        return bool(won) or await self.renew()  # our own lease from an earlier try

    async def renew(self) -> bool:
        try:
            return bool(await self._renew(keys=[self.key], args=[self.holder, self.ttl_ms]))
        except RedisError as exc:
            raise LeaseUnavailable(f"redis: {exc}") from exc

    async def release(self) -> None:
        try:
            await self._release(keys=[self.key], args=[self.holder])
        except RedisError as exc:
            log.warning("could not release %s: %s; it lapses in its TTL", self.describe, exc)


class Leadership:
    """Whether this instance leads, kept current by calling :meth:`step` every ``ttl/3``."""

    def __init__(
        self,
        lease: Lease,
        ttl: float,
        on_change: Callable[[bool], None] = lambda _leader: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lease = lease
        self.ttl = ttl
        self._on_change = on_change
        self._clock = clock
        self._held = False
        self._reported = False  # what on_change last heard
        self._renewed_at = float("-inf")
        self.error: str | None = None  # why the last step could not reach the backend

    @property
    def is_leader(self) -> bool:
        return self._held and self._clock() - self._renewed_at < self.ttl

    async def step(self) -> bool:
        """Renew the lease when held, else try to take it. Returns :attr:`is_leader`."""
        started = self._clock()
        try:
            held = await (self.lease.renew() if self._held else self.lease.acquire())
            self.error = None
        except LeaseUnavailable as exc:
            held, self.error = False, str(exc)
        self._held = held
        if held:
            self._renewed_at = started  # the lease runs from before the request was sent
        self._report()
        return self.is_leader

    async def resign(self) -> None:
        if self._held:
            await self.lease.release()
            self._held = False
        self._report()

    def _report(self) -> None:
        leader = self.is_leader
        if leader == self._reported:
            return
        self._reported = leader
        log.info(
            "%s %s (%s)",
            self.lease.holder,
            "is now the leader" if leader else "is no longer the leader",
            self.error or self.lease.describe,
        )
        self._on_change(leader)
