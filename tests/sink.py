"""The lab's real SMTP sink (aiosmtpd), served in-process on a free loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP
from prometheus_client import CollectorRegistry

from labctl.stack.mail_sink import Mailbox, SinkHandler
from labctl.stack.ports import free_port


@dataclass
class Sink:
    port: int
    mailbox: Mailbox
    registry: CollectorRegistry

    def count(self, result: str) -> float:
        value = self.registry.get_sample_value("lab_smtp_sink_messages_total", {"result": result})
        return value or 0.0


@asynccontextmanager
async def serve_sink(directory: Path, port: int | None = None) -> AsyncIterator[Sink]:
    loop = asyncio.get_running_loop()
    registry = CollectorRegistry()
    handler = SinkHandler(Mailbox(directory), registry)

    def protocol() -> Any:
        return SMTP(handler, hostname="test-sink", loop=loop)

    chosen = port or free_port()
    server = await loop.create_server(protocol, "127.0.0.1", chosen)
    try:
        yield Sink(chosen, handler.mailbox, registry)
    finally:
        server.close()
        await server.wait_closed()
        handler.close()
