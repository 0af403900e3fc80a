"""Run the debug app on its own thread and event loop, so it answers while the service's loop
is blocked (the aiomonitor lesson), bound to loopback unless told otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from leaky_app.debug.app import DebugState, build_app
from leaky_app.debug.auth import new_token, write_token
from leaky_app.debug.endpoints import Endpoint
from leaky_app.debug.gcview import GCPauses
from leaky_app.debug.loopwatch import LoopWatchdog
from leaky_app.debug.tasks import TaskTracker

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 6060  # Go's conventional pprof port
DEFAULT_MAX_SECONDS = 60.0
START_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class DebugConfig:
    """Where and how the debug surface listens.

    ``host`` other than loopback is refused unless ``allow_non_loopback`` is set, and then
    logged as a warning: this surface can read memory and stall the process.
    """

    token_file: Path
    operator_token: str | None = None  # the operator's (kept_token); None: the one token
    host: str = LOOPBACK
    port: int = DEFAULT_PORT
    allow_non_loopback: bool = False
    max_seconds: float = DEFAULT_MAX_SECONDS
    record_task_sites: bool = True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _QuietServer(uvicorn.Server):
    """uvicorn's main loop wakes ten times a second (to refresh the Date header and look for
    an exit request). On a thread beside a busy service each wake-up takes the GIL from the
    service's loop, so this one wakes once a second, and at once when asked to exit."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit = asyncio.Event()
        counter = 0  # on_tick refreshes the headers when counter % 10 == 0: every call here
        while not await self.on_tick(counter):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._exit.wait()

    def request_exit(self) -> None:
        """From any thread."""
        self.should_exit = True
        loop, event = self._loop, self._exit
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # its loop already closed
                loop.call_soon_threadsafe(event.set)


class DebugServer:
    """Usage (from inside the service's running loop)::

    server = DebugServer(DebugConfig(token_file=Path("run/debug.token")),
                         loop=asyncio.get_running_loop(), settings=lambda: {...})
    server.start()        # returns once it listens; token written 0600
    ...
    server.stop()
    """

    def __init__(
        self,
        config: DebugConfig,
        loop: asyncio.AbstractEventLoop,
        settings: Callable[[], Mapping[str, Any]] = dict,
        extra: Sequence[Endpoint] = (),
    ) -> None:
        if not _is_loopback(config.host):
            if not config.allow_non_loopback:
                raise ValueError(
                    f"debug surface refuses to bind {config.host}: it is loopback-only unless "
                    "allow_non_loopback is set"
                )
            log.warning(
                "debug surface bound to non-loopback address %s; anyone who can reach it and "
                "holds the token can read this process's memory",
                config.host,
            )
        self.config = config
        self.loop = loop
        self.token = new_token()
        self.tracker = TaskTracker() if config.record_task_sites else None
        self.watchdog = LoopWatchdog(loop)
        self.pauses = GCPauses()
        self._settings = settings
        self._extra = extra
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        if self._server is None or not self._server.servers:
            return self.config.port
        sockets = self._server.servers[0].sockets
        return int(sockets[0].getsockname()[1]) if sockets else self.config.port

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}/debug/"

    def start(self) -> None:
        write_token(self.config.token_file, self.token)
        if self.tracker is not None:
            self.tracker.install(self.loop)
        self.pauses.install()
        self.watchdog.start()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="debug-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(START_TIMEOUT_SECONDS) or self._error is not None:
            self.stop()
            raise RuntimeError(
                f"debug surface did not start on {self.config.host}:{self.config.port}: "
                f"{self._error or 'timed out'}"
            )

    def _run(self, ready: threading.Event) -> None:
        async def serve() -> None:
            state = DebugState(
                loop=self.loop,
                tracker=self.tracker,
                watchdog=self.watchdog,
                pauses=self.pauses,
                max_seconds=self.config.max_seconds,
                settings=self._settings,
            )
            app = build_app(state, self.token, self._extra, self.config.operator_token)
            config = uvicorn.Config(
                app,
                host=self.config.host,
                port=self.config.port,
                log_config=None,
                access_log=False,
                lifespan="off",
                loop="asyncio",
            )
            self._server = _QuietServer(config)
            task = asyncio.create_task(self._server.serve())
            # uvicorn exposes `started` as a flag, not an event, so poll it briefly.
            while not self._server.started and not task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            if task.done() and not self._server.started:
                self._error = task.exception() or RuntimeError("server exited during start-up")
            ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to start() through self._error
            self._error = exc
            ready.set()

    def stop(self) -> None:
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.watchdog.stop()
        self.pauses.uninstall()
        if self.tracker is not None and not self.loop.is_closed():
            self.tracker.uninstall(self.loop)
