"""Background load on the lab's service: locust, headless, as a process of the stack.

locust runs in its own process because it monkey-patches the standard library with gevent.
Its record joins ``run/stack.json`` under the name ``load``, so ``labctl down`` stops it too,
and it writes its statistics to ``run/load/``::

    status = Stack(Path("run")).status()
    record = start_load(status, None, LoadShape(users=10, rate=30))   # at the stack's service
    stats = read_stats(status.layout)      # requests, failures, requests/s so far
    stop_load(status)
"""

from __future__ import annotations

import csv
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from labctl.contract import LOAD, SERVICE, RunLayout
from labctl.errors import LabctlError
from labctl.stack.processes import ProcessRecord, spawn, stop, tail
from labctl.stack.supervisor import StackStatus

LOCUSTFILE = Path(__file__).resolve().parents[2] / "loadgen" / "locustfile.py"
MAX_USERS = 500  # enough for any lab on a laptop; more would only load the generator itself
MAX_RATE = 5000.0
MAX_REFERRERS = 1_000_000


class LoadError(LabctlError):
    """Load could not start or stop; the message says why and what to type."""


@dataclass(frozen=True)
class LoadShape:
    """What the clicking crowd looks like: ``rate`` requests a second in total, shared by
    ``users``; ``create_share`` of them create a link (which mails its owner). Each click
    comes from one of ``referrers`` distinct pages that link to the service;
    ``preview_share`` of the visits open the link's preview page instead. These defaults are
    the lab's (a lab's ``[load]`` and ``labctl load start`` take them from here)."""

    users: int = 10
    rate: float = 30.0
    links: int = 50
    create_share: float = 0.02
    referrers: int = 5000
    preview_share: float = 0.4
    seconds: float | None = None  # None: until ``labctl load stop``

    def check(self) -> None:
        if not 1 <= self.users <= MAX_USERS:
            raise LoadError(f"users must be between 1 and {MAX_USERS}, not {self.users}", 2)
        if not 0 < self.rate <= MAX_RATE:
            raise LoadError(f"rate must be above 0 and at most {MAX_RATE:g}, not {self.rate}", 2)
        if not 0 <= self.create_share <= 1:
            raise LoadError(f"create share must be between 0 and 1, not {self.create_share}", 2)
        if not 0 <= self.preview_share <= 1:
            message = f"preview share must be between 0 and 1, not {self.preview_share}"
            raise LoadError(message, 2)
        if not 1 <= self.referrers <= MAX_REFERRERS:
            raise LoadError(
                f"referrers must be between 1 and {MAX_REFERRERS}, not {self.referrers}", 2
            )
        if self.links < 1:
            raise LoadError(f"links must be at least 1, not {self.links}", 2)
        if self.seconds is not None and self.seconds <= 0:
            raise LoadError(f"seconds must be above 0, not {self.seconds}", 2)


@dataclass(frozen=True)
class LoadStats:
    """locust's running totals over every request type."""

    requests: int
    failures: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_command(url: str, shape: LoadShape, layout: RunLayout) -> list[str]:
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", url, "--users", str(shape.users), "--spawn-rate", str(shape.users),
        "--rate", f"{shape.rate:g}", "--links", str(shape.links),
        "--create-share", f"{shape.create_share:g}", "--referrers", str(shape.referrers),
        "--preview-share", f"{shape.preview_share:g}",
        "--csv", str(layout.load / "stats"), "--only-summary",
    ]  # fmt: skip
    if shape.seconds is not None:
        cmd += ["--run-time", f"{max(1, round(shape.seconds))}s"]
    return cmd


def start_load(status: StackStatus, url: str | None, shape: LoadShape) -> ProcessRecord:
    """Start locust against ``url`` (default: the stack's service). One load at a time."""
    shape.check()
    if LOAD in status.running:
        pid = status.running[LOAD].pid
        raise LoadError(f"load is already running (pid {pid}); first: labctl load stop")
    if url is None:
        service = status.running.get(SERVICE)
        if service is None:
            raise LoadError(f"no service is running in {status.run_dir}; first: labctl up", 3)
        url = service.urls["api"]
    if not LOCUSTFILE.exists():
        raise LoadError(f"{LOCUSTFILE} is missing: run labctl from a checkout of the lab")
    layout = status.layout
    (layout.load / "stats_stats.csv").unlink(missing_ok=True)  # what read_stats shows is this run's
    record = spawn(LOAD, load_command(url, shape, layout), layout.log(LOAD))
    record.urls["target"] = url
    status.adopt(LOAD, record)
    return record


def stop_load(status: StackStatus) -> ProcessRecord | None:
    """Stop the load by PID (locust writes its final statistics on SIGTERM)."""
    record = status.forget(LOAD)
    if record is None or not stop(record):
        return None
    return record


def read_stats(layout: RunLayout) -> LoadStats | None:
    """Totals from locust's CSV (rewritten every few seconds while it runs)."""
    try:
        with (layout.load / "stats_stats.csv").open(newline="") as fh:
            rows = [row for row in csv.DictReader(fh) if row.get("Name") == "Aggregated"]
    except OSError:
        return None
    if not rows:
        return None
    row = rows[-1]

    def number(key: str) -> float:
        try:
            return float(row.get(key) or 0)
        except ValueError:
            return 0.0  # locust writes "N/A" for a percentile before any request

    return LoadStats(
        requests=int(number("Request Count")),
        failures=int(number("Failure Count")),
        requests_per_second=number("Requests/s"),
        p50_ms=number("50%"),
        p99_ms=number("99%"),
    )


def log_tail(layout: RunLayout) -> str:
    return tail(layout.log(LOAD))
