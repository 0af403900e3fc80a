"""``leaky-app``: run the patient under uvicorn, one worker.

Every setting is a flag and an environment variable (``--port 8000`` or
``LEAKY_APP_PORT=8000``); ``leaky-app --help`` lists them all.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from pydantic_settings import CliApp, SettingsError
from uvicorn.config import STARTUP_FAILURE

from leaky_app.app import create_app
from leaky_app.logs import configure_logging
from leaky_app.settings import ConfigError, Settings, load_runtime_config


def _taken_port(settings: Settings) -> str | None:
    """Which of the ports the service listens on is in use already, as a sentence.

    Checked before start-up: a listener that fails to bind inside the lifespan makes uvicorn
    log a traceback and exit 3, which tells a user less than this does.
    """
    listeners = [
        ("--port", settings.host, settings.port),
        ("--stream-port", settings.host, settings.stream_port),
        ("--metrics-port", settings.metrics_host, settings.metrics_port),
    ]
    if settings.debug_enabled:
        listeners.append(("--debug-port", settings.debug_host, settings.debug_port))
    for flag, host, port in listeners:
        if port == 0:
            continue
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio binds
            try:
                probe.bind((host, port))
            except OSError as exc:
                return f"cannot listen on {host}:{port} ({flag}): {exc.strerror}"
    return None


def uvicorn_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """How the service runs under uvicorn (one worker); ``bench/request_path_cost.py`` serves
    its variants with the same configuration."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        workers=1,
        # The stock asyncio loop, not uvloop: asyncio's debug mode, slow-callback reports
        # and task introspection are what the lab teaches. httptools parses HTTP in C.
        loop="asyncio",
        http="httptools",
        # The websockets library's Sans-I/O core. Compression is off by default: its zlib
        # buffers dominate an idle connection's memory (bench/results/websockets_memory.md).
        ws="websockets-sansio",
        ws_per_message_deflate=settings.ws_per_message_deflate,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: any local client could
        # then pick the address the rate limiter keys on. Only configured proxies are believed.
        proxy_headers=settings.trusted_proxies is not None,
        forwarded_allow_ips=settings.trusted_proxies or "",
        log_config=None,  # our JSON handler on the root logger formats uvicorn's lines too
        access_log=False,  # the telemetry middleware writes a richer, JSON access line
        lifespan="on",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = CliApp.run(Settings, cli_args=args)
    except (ValidationError, SettingsError) as exc:
        print(f"leaky-app: invalid settings: {exc}", file=sys.stderr)
        return 2
    try:
        runtime = load_runtime_config(settings.flags_file)
    except ConfigError as exc:
        print(f"leaky-app: {exc}", file=sys.stderr)
        return 2
    taken = _taken_port(settings)
    if taken is not None:
        print(f"leaky-app: {taken}; choose another with its flag, or 0 for any", file=sys.stderr)
        return 1
    configure_logging(runtime.log_level)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn_config(app, settings))
    try:
        server.run()
    except OSError as exc:
        print(f"leaky-app: cannot serve on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        return 1
    return 0 if server.started else STARTUP_FAILURE  # as uvicorn.run exits
