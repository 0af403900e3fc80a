"""A crowd of websocket clients on ``/ws/clicks``, as a process of the stack (``ws-crowd``):
the lab load for memory per connection (seed Q375), and the bench's idle connections.

Each client holds its connection for ``reconnect`` seconds (jittered +-50%, and its first
one for a uniform share of that, so the crowd renews itself at a steady rate from the start,
like phones that come and go), then connects again; 0 holds them for good. With
``--token-file`` (the service's observer token; ``start_crowd`` passes it) each client
listens to every link's clicks, and the service holds the crowd only to its global cap;
without it, the URL names one link (``?code=``) and the service's per-address cap applies.
The process prints ``open N`` once every client has connected the first time, then runs
until SIGTERM (or, with ``--until-stdin-closes``, until its stdin closes)::

    record = start_crowd(status, clients=1000, reconnect=10.0)   # a StackStatus
    ...
    stop_crowd(status)

Written on the websockets library's asyncio client rather than in locust: locust's gevent
world has no websocket client of its own, and thousands of idle connections are a job for
one event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import resource
import signal
import sys
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from labctl.contract import CROWD, SERVICE
from labctl.errors import LabctlError
from labctl.stack.processes import ProcessRecord, spawn, stop
from labctl.stack.supervisor import StackStatus

MAX_CLIENTS = 20_000
HANDSHAKES_AT_ONCE = 200  # the service's accept queue, and this process's, stay sane


class CrowdError(LabctlError):
    """The crowd could not start; the message says why."""


async def _client(url: str, reconnect: float, gate: asyncio.Semaphore, opened: asyncio.Event,
                  counter: list[int], total: int, headers: dict[str, str]) -> None:  # fmt: skip
    first = True
    while True:
        try:
            async with gate:
                conn = await connect(
                    url, open_timeout=60, ping_interval=None, additional_headers=headers
                )
        except (OSError, TimeoutError, WebSocketException):
            await asyncio.sleep(1.0)  # refused (over the cap) or the service restarting
            continue
        # The first connection lives a uniform share of the period, so the crowd renews
        # itself at a steady rate from the start instead of all at once a period later.
        lifetime = reconnect * (random.uniform(0, 1) if first else random.uniform(0.5, 1.5))  # noqa: S311
        if first:
            first = False
            counter[0] += 1
            if counter[0] == total:
                opened.set()
        async with conn:
            if not reconnect:
                await asyncio.Future()  # held until cancelled
            with contextlib.suppress(TimeoutError, WebSocketException):
                async with asyncio.timeout(lifetime):
                    async for _message in conn:
                        pass  # clicks are read and dropped: this client is never slow


async def run(
    url: str, clients: int, reconnect: float, until_stdin_closes: bool, token: str | None = None
) -> None:
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    opened = asyncio.Event()
    counter = [0]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    tasks = [asyncio.create_task(_client(url, reconnect, gate, opened, counter, clients, headers))
             for _ in range(clients)]  # fmt: skip
    await opened.wait()
    print(f"open {clients}", flush=True)
    loop = asyncio.get_running_loop()
    if until_stdin_closes:
        await loop.run_in_executor(None, sys.stdin.read)
    else:
        stopped = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stopped.set)
        await stopped.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def command(url: str, clients: int, reconnect: float, token_file: Path | None = None) -> list[str]:
    """The crowd's command line; the token goes by file, never on the command line."""
    token = ["--token-file", str(token_file)] if token_file else []
    return [sys.executable, "-m", "labctl.stack.ws_crowd", url, str(clients),
            "--reconnect", f"{reconnect:g}", *token]  # fmt: skip


def start_crowd(status: StackStatus, clients: int, reconnect: float) -> ProcessRecord:
    """``clients`` websocket clients on the stack's service, renewing every ``reconnect`` s."""
    if not 1 <= clients <= MAX_CLIENTS:
        raise CrowdError(f"clients must be between 1 and {MAX_CLIENTS}, not {clients}", 2)
    service = status.running.get(SERVICE)
    if service is None:
        raise CrowdError(f"no service is running in {status.run_dir}; first: labctl up", 3)
    if CROWD in status.running:
        raise CrowdError(f"a websocket crowd is already running (pid {status.running[CROWD].pid})")
    url = service.urls["api"].replace("http://", "ws://", 1) + "/ws/clicks"
    cmd = command(url, clients, reconnect, status.layout.debug_token)
    record = spawn(CROWD, cmd, status.layout.log(CROWD))
    record.urls["target"] = url
    status.adopt(CROWD, record)
    return record


def stop_crowd(status: StackStatus) -> ProcessRecord | None:
    record = status.forget(CROWD)
    if record is None or not stop(record):
        return None
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labctl.stack.ws_crowd", description=__doc__)
    parser.add_argument("url", help="ws://host:port/ws/clicks")
    parser.add_argument("clients", type=int)
    parser.add_argument("--reconnect", type=float, default=0.0,
                        help="seconds each connection lives (jittered); 0 holds them")  # fmt: skip
    parser.add_argument("--until-stdin-closes", action="store_true")
    parser.add_argument("--token-file", type=Path,
                        help="the service's observer token (every link's clicks)")  # fmt: skip
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"clients must be between 1 and {MAX_CLIENTS}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    token = None
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            parser.error(f"cannot read the token file: {exc}")
    asyncio.run(run(args.url, args.clients, args.reconnect, args.until_stdin_closes, token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
