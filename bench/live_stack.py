"""A whole native stack under background load, for benchmarks that need the lab as a trainee
runs it (``make up`` plus ``labctl load start``), stopped by PID at the end."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labctl.stack.ports import ServicePorts
from labctl.stack.supervisor import Stack
from labctl.stack.traffic import LoadShape, start_load


@contextmanager
def loaded_stack(shape: LoadShape, warmup_seconds: float = 10.0) -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        stack = Stack(Path(tmp))
        try:
            status = stack.up(ServicePorts.free(), progress=lambda m: print(f"+ {m}", flush=True))
            print(f"+ running: {', '.join(sorted(status.running))}", flush=True)
            record = start_load(status, None, shape)
            print(f"+ load: {' '.join(record.cmd)}", flush=True)
            time.sleep(warmup_seconds)  # locust seeds its links and reaches its rate
            yield stack
        finally:
            stack.down()
