"""A real scoreboard process for the workshop tests: ``labctl workshop serve`` on a free
loopback port, its tokens read from its folder, stopped by PID."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from labctl.stack.ports import free_port
from labctl.stack.processes import ProcessRecord, ready_or_stopped, spawn, stop


@dataclass
class Scoreboard:
    record: ProcessRecord
    url: str
    folder: Path

    @property
    def join_token(self) -> str:
        return str(json.loads((self.folder / "tokens.json").read_text())["join"])

    @property
    def board_token(self) -> str:
        return str(json.loads((self.folder / "tokens.json").read_text())["board"])


@contextmanager
def scoreboard(folder: Path) -> Iterator[Scoreboard]:
    port = free_port()
    labctl = str(Path(sys.executable).parent / "labctl")
    cmd = [labctl, "workshop", "serve", "--port", str(port), "--dir", str(folder)]
    record = spawn("scoreboard", cmd, folder.parent / f"scoreboard-{port}.log")
    url = f"http://127.0.0.1:{port}"
    ready_or_stopped(record, f"{url}/healthz", timeout=30)
    try:
        yield Scoreboard(record, url, folder)
    finally:
        stop(record)
