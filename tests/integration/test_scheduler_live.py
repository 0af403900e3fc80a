"""Two real service instances sharing a database (seed Q372, Q361): exactly one runs the
expiry job, the other takes over when it is killed, and with Redis they share one rate limit.

Leadership is read from each instance's ``leaky_app_scheduler_leader`` gauge; expiry from the
rows left in the shared SQLite file and each instance's job counter.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from labctl.contract import RunLayout
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import ProcessRecord, kill_hard, stop
from labctl.stack.redis_server import start_redis
from labctl.stack.service import start_service
from tests.integration.load import scrape
from tests.live import LiveRedis
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration

TTL = 2.0  # the leader lease
EXPIRED_ITEMS = 'leaky_app_scheduler_job_items_total{job="expire_links"}'


@dataclass
class Instance:
    record: ProcessRecord
    ports: ServicePorts

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"

    def metric(self, name: str) -> float:
        return scrape(f"http://127.0.0.1:{self.ports.metrics}/metrics").get(name, 0.0)

    def leads(self) -> bool:
        return self.metric("leaky_app_scheduler_leader") == 1.0


@dataclass
class Pair:
    instances: list[Instance]
    db: Path

    def leaders(self) -> list[Instance]:
        return [i for i in self.instances if i.record.alive() and i.leads()]


def start_pair(tmp_path: Path, redis_url: str | None, rate_limit: Mapping[str, object]) -> Pair:
    """Two instances on one database and one flags file, as two replicas on one host."""
    shared = tmp_path / "shared"
    shared.mkdir(parents=True)
    (shared / "flags.json").write_text(json.dumps({"rate_limit": rate_limit}))
    args = [
        "--db", str(shared / "links.db"),
        "--flags-file", str(shared / "flags.json"),
        "--leader-ttl-seconds", str(TTL),
        "--expiry-interval-seconds", "0.5",
        "--no-notify-enabled",
    ]  # fmt: skip
    if redis_url is not None:
        args += ["--redis-url", redis_url]
    instances: list[Instance] = []
    try:
        for name in ("a", "b"):
            ports = ServicePorts.free()
            record = start_service(RunLayout(tmp_path / name), ports, extra_args=args)
            instances.append(Instance(record, ports))
    except Exception:
        for instance in instances:
            stop(instance.record)
        raise
    return Pair(instances, shared / "links.db")


@pytest.fixture
def pairs() -> Iterator[list[Pair]]:
    started: list[Pair] = []
    try:
        yield started
    finally:
        for pair in started:
            for instance in pair.instances:
                stop(instance.record)


OPEN = {"enabled": False}


def assert_exactly_one_leader(pair: Pair) -> Instance:
    eventually_sync(lambda: len(pair.leaders()) == 1, "exactly one leader", deadline_s=5 * TTL)
    leaders = pair.leaders()
    assert len(leaders) == 1, f"{len(leaders)} leaders right after there was one"
    leader = leaders[0]
    # And it stays that way over several renewals: no second leader, no flapping.
    for _ in range(6):
        assert pair.leaders() == [leader]
        time.sleep(TTL / 4)
    return leader


def stored(db: Path, codes: list[str]) -> int:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        marks = ",".join("?" * len(codes))
        row = conn.execute(f"SELECT count(*) FROM links WHERE code IN ({marks})", codes).fetchone()  # noqa: S608
    return int(row[0])


def takeover_seconds(pair: Pair, leader: Instance) -> tuple[Instance, float]:
    follower = next(i for i in pair.instances if i is not leader)
    kill_hard(leader.record)  # no shutdown: the lease is not released
    killed = time.monotonic()
    eventually_sync(follower.leads, "the follower takes over", deadline_s=5 * TTL)
    return follower, time.monotonic() - killed


@pytest.mark.parametrize("backend", ["file-lock", "redis"])
def test_exactly_one_instance_expires_links_and_the_other_takes_over(
    tmp_path: Path, pairs: list[Pair], live_redis: LiveRedis, backend: str
) -> None:
    pair = start_pair(tmp_path, live_redis.url if backend == "redis" else None, OPEN)
    pairs.append(pair)
    leader = assert_exactly_one_leader(pair)
    follower = next(i for i in pair.instances if i is not leader)

    with httpx.Client(base_url=follower.url, timeout=10) as client:
        codes = [
            client.post(
                "/api/v1/links", json={"url": f"https://ttl.example/{n}", "ttl_seconds": 1}
            ).json()["code"]
            for n in range(5)
        ]
    assert stored(pair.db, codes) == 5
    eventually_sync(lambda: stored(pair.db, codes) == 0, "expired links deleted", 10)
    assert leader.metric(EXPIRED_ITEMS) >= 5
    assert follower.metric(EXPIRED_ITEMS) == 0  # the follower never ran the job

    new_leader, took = takeover_seconds(pair, leader)
    if backend == "redis":
        # The dead leader's key must lapse first: the follower waits out most of the lease
        # (renewed every TTL/3), and then takes it at its next tick.
        assert TTL / 2 <= took <= TTL + TTL / 3 + 2.0
    else:
        # The kernel drops a dead process's flock at once: the next tick wins.
        assert took <= TTL
    assert_exactly_one_leader(pair)
    with httpx.Client(base_url=new_leader.url, timeout=10) as client:
        code = client.post(
            "/api/v1/links", json={"url": "https://ttl.example/late", "ttl_seconds": 1}
        ).json()["code"]
    eventually_sync(lambda: stored(pair.db, [code]) == 0, "the new leader expires links", 10)


def allowed_of(pair: Pair, requests: int) -> tuple[int, float]:
    """Send ``requests`` alternately to the two instances; (how many passed, seconds taken)."""
    started = time.monotonic()
    passed = 0
    clients = [httpx.Client(base_url=i.url, timeout=10) for i in pair.instances]
    try:
        for n in range(requests):
            status = clients[n % 2].get("/api/v1/links/nothere").status_code
            assert status in (404, 429), status
            passed += status == 404
    finally:
        for client in clients:
            client.close()
    return passed, time.monotonic() - started


def test_two_instances_share_one_rate_limit_through_redis(
    tmp_path: Path, pairs: list[Pair], live_redis: LiveRedis
) -> None:
    limit = {"rps": 1, "burst": 10}  # a 10 s window
    shared = start_pair(tmp_path / "redis", live_redis.url, limit)
    local = start_pair(tmp_path / "local", None, limit)
    pairs.extend([shared, local])
    passed_shared, took = allowed_of(shared, 40)
    passed_local, took_local = allowed_of(local, 40)
    # One window for both: 10, plus what left the window while the test ran (1 a second).
    assert 10 <= passed_shared <= 10 + int(took) + 1
    # Each instance's own bucket: twice the burst (plus the refill at 1 a second each).
    assert 20 <= passed_local <= 20 + 2 * (int(took_local) + 1)


def test_redis_down_is_reported_and_the_service_falls_back(
    tmp_path: Path, pairs: list[Pair], live_redis: LiveRedis
) -> None:
    pair = start_pair(tmp_path, live_redis.url, {"rps": 1, "burst": 5})
    pairs.append(pair)
    assert_exactly_one_leader(pair)
    live_redis.stop()

    a = pair.instances[0]
    with httpx.Client(base_url=a.url, timeout=10) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text  # redirects do not need Redis
        assert "redis" in ready.json()["degraded"], ready.text
        statuses = [client.get("/api/v1/links/nothere").status_code for _ in range(8)]
    # The local bucket (burst 5) now limits, instead of refusing everything or nothing.
    assert statuses.count(404) == 5, statuses
    assert statuses.count(429) == 3, statuses
    assert a.metric("leaky_app_rate_limit_backend_errors_total") >= 1
    # Nobody can be sure it is the only leader: nobody is.
    eventually_sync(lambda: pair.leaders() == [], "every instance steps down", 5 * TTL)

    port = int(live_redis.url.rsplit(":", 1)[1].split("/")[0])
    again = start_redis(RunLayout(tmp_path / "redis-again"), port)
    try:
        assert_exactly_one_leader(pair)
        with httpx.Client(base_url=a.url, timeout=10) as client:
            assert client.get("/readyz").json()["degraded"] == {}
    finally:
        stop(again)
