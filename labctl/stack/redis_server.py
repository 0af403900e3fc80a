"""A Redis server (Debian's ``redis-server``) on a loopback port, for the shared parts of the
patient: leader election and the rate limit's sliding window (seed Q361, Q372).

Nothing is saved to disk: the lab's Redis holds leases and request windows only, which
lapse by themselves.

Usage::

    record = start_redis(RunLayout(Path("run")), free_port())
    url = record.urls["redis"]          # pass it to the service as REDIS_URL
    stop(record)
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import redis
from redis.exceptions import RedisError

from labctl.contract import REDIS, RunLayout
from labctl.errors import LabctlError
from labctl.stack.ports import LOOPBACK
from labctl.stack.processes import ProcessError, ProcessRecord, spawn, stop, tail


class RedisMissing(LabctlError):
    """No redis-server binary on PATH."""


def command(run_dir: Path, port: int, binary: str = "redis-server") -> list[str]:
    return [
        binary,
        "--port",
        str(port),
        "--bind",
        LOOPBACK,
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(run_dir),
        "--protected-mode",
        "yes",
    ]


def start_redis(
    layout: RunLayout,
    port: int,
    timeout: float = 20.0,
    echo: Callable[[str], None] = lambda _line: None,
) -> ProcessRecord:
    """Start redis-server and wait until it answers PING."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisMissing(
            "redis-server is not installed; install it with: sudo apt-get install redis-server",
            exit_code=3,
        )
    layout.root.mkdir(parents=True, exist_ok=True)
    cmd = command(layout.root, port, binary)
    echo(" ".join(cmd))
    record = spawn(REDIS, cmd, layout.log(REDIS))
    url = f"redis://{LOOPBACK}:{port}/0"
    record.urls = {"redis": url}
    try:
        _wait_for_ping(record, url, timeout)
    except Exception:
        stop(record)
        raise
    return record


def _wait_for_ping(record: ProcessRecord, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1) as client:
        while True:
            if not record.alive():
                raise ProcessError(f"redis-server exited at start:\n{tail(Path(record.log))}")
            try:
                client.ping()
                return
            except RedisError as exc:
                if time.monotonic() > deadline:
                    raise ProcessError(f"redis-server gave no PONG within {timeout:g} s") from exc
            time.sleep(0.05)
