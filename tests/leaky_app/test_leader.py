"""Leases and leadership (seed Q372) against a real redis-server and real file locks."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from labctl.stack.ports import free_port
from leaky_app.leader import FileLease, Leadership, LeaseUnavailable, RedisLease
from tests.live import LiveRedis

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(live_redis: LiveRedis) -> AsyncIterator[Redis]:
    client = Redis.from_url(live_redis.url)
    try:
        yield client
    finally:
        await client.aclose()


def key() -> str:
    return f"test:leader:{uuid.uuid4().hex}"


async def test_one_redis_lease_holder_at_a_time(redis: Redis) -> None:
    k = key()
    a, b = RedisLease(redis, k, 10, holder="a"), RedisLease(redis, k, 10, holder="b")
    assert await a.acquire()
    assert not await b.acquire()
    assert not await b.renew()  # compare-and-PEXPIRE: b cannot extend a's lease
    await b.release()  # compare-and-DEL: b cannot delete a's lease either
    assert await redis.get(k) == b"a"
    assert await a.renew()
    await a.release()
    assert await b.acquire()
    assert await redis.get(k) == b"b"


async def test_a_lease_nobody_renews_lapses_and_its_holder_cannot_take_it_back(
    redis: Redis,
) -> None:
    k = key()
    ttl = 0.5
    a, b = RedisLease(redis, k, ttl, holder="a"), RedisLease(redis, k, ttl, holder="b")
    assert await a.acquire()
    taken = time.monotonic()
    assert not await b.acquire()
    while not await b.acquire():
        assert time.monotonic() - taken < 20 * ttl, "the lease never lapsed"
        await asyncio.sleep(0.02)
    assert time.monotonic() - taken >= ttl * 0.9  # not before the lease's TTL
    assert not await a.renew()  # a lost it while silent: it must not extend b's


async def test_an_unreachable_redis_means_not_leader_with_the_reason() -> None:
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    try:
        lease = RedisLease(dead, key(), 5)
        with pytest.raises(LeaseUnavailable):
            await lease.acquire()
        leadership = Leadership(lease, ttl=5)
        assert not await leadership.step()
        assert leadership.error is not None
        assert "redis" in leadership.error
    finally:
        await dead.aclose()


async def test_a_leader_whose_renewals_stop_stops_counting_itself_leader(redis: Redis) -> None:
    now = [0.0]
    changes: list[bool] = []
    leadership = Leadership(RedisLease(redis, key(), 60), 5.0, changes.append, lambda: now[0])
    assert await leadership.step()
    now[0] = 4.9
    assert leadership.is_leader
    now[0] = 5.0  # a stalled loop: no step for a whole TTL; someone else may lead by now
    assert not leadership.is_leader
    assert await leadership.step()  # the lease (60 s in Redis) is still ours: renewed
    assert changes == [True]
    await leadership.resign()
    assert changes == [True, False]


async def test_one_file_lease_holder_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.lock"
    a, b = FileLease(path), FileLease(path)
    assert await a.acquire()
    assert not await b.acquire()
    assert await a.renew()
    assert not await b.renew()
    await a.release()
    assert await b.acquire()
    await b.release()


HOLD = """
import sys, time, filelock
lock = filelock.FileLock(sys.argv[1], thread_local=False)
lock.acquire(blocking=False)
print("held", flush=True)
while True:
    time.sleep(0.05)
"""


async def test_a_killed_holder_releases_its_file_lease_at_once(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.lock"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD, str(path), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"held"
        lease = FileLease(path)
        assert not await lease.acquire()
        holder.kill()  # SIGKILL: no cleanup runs; the kernel drops the flock
        await holder.wait()
        assert await lease.acquire()
        await lease.release()
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
