"""The patient as a process: its command line reads every path from the run layout."""

import os
import subprocess
import sys
from pathlib import Path

from labctl.contract import RunLayout
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import ProcessRecord
from labctl.stack.service import SERVICE_ENV, mailed_port, service_command


def flag(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_the_service_keeps_its_state_where_the_layout_says() -> None:
    layout = RunLayout(Path("/tmp/lab-run"))
    ports = ServicePorts(8000, 8001, 9464, 6060, 2525, 9465)
    cmd = service_command(ports, layout)
    assert flag(cmd, "--db") == str(layout.db)
    assert flag(cmd, "--flags-file") == str(layout.flags)
    assert flag(cmd, "--debug-token-file") == str(layout.debug_token)
    assert (flag(cmd, "--port"), flag(cmd, "--debug-port")) == ("8000", "6060")
    record = ProcessRecord("service", 1, 0.0, cmd, "log")
    assert mailed_port(record, 1) == 2525
    assert mailed_port(ProcessRecord("service", 1, 0.0, ["leaky-app"], "log"), 1) == 1


# A process that frees a big mapped block first (as a running service has, many times), then
# holds a thousand 160 KiB buffers among small heap objects, and frees the buffers.
_RETURNS_FREED_MEMORY = """
import psutil, random
rss = lambda: psutil.Process().memory_info().rss
big = bytearray(4 << 20); del big
before = rss()
rings, small = [], []
for _ in range(1000):
    rings.append(bytearray(b" ") * (160 << 10))
    small.append([str(random.random()) * 40 for _ in range(20)])
held = rss()
rings.clear()
print(before, held, rss())
"""


def test_the_service_environment_gives_freed_buffers_back_to_the_os() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _RETURNS_FREED_MEMORY],
        env={**os.environ, **SERVICE_ENV}, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    before, held, after = (int(n) for n in out.split())
    grown = held - before
    assert grown > 100 << 20, f"the buffers should take ~160 MiB, took {grown >> 20} MiB"
    assert after - before < grown / 4, f"{(after - before) >> 20} MiB of {grown >> 20} still held"
