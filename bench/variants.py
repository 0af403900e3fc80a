"""The instrumentation variants that issue 2's benches compare, listed once.

Three benches measure the same question three ways (throughput across processes, CPU time
in one process, instructions under callgrind) and each needs the variants in its own form:
``Settings`` fields for a server built in-process, command-line flags for a service process.
Both forms come from one entry here, so the three tables always compare the same things::

    for variant in INSTRUMENTATION:
        Settings(**variant.settings)      # bench/request_path_cost.py
        ["leaky-app", *variant.args()]    # bench/instrumentation_overhead.py
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceVariant:
    """One way to run the service: the settings it differs by from the defaults, and the
    hot-reloadable flags it starts with (on top of the bench's own)."""

    label: str
    settings: dict[str, Any] = field(default_factory=dict)  # Settings fields: it validates
    flags: dict[str, object] = field(default_factory=dict)

    def args(self) -> list[str]:
        """The settings as ``leaky-app`` flags: ``--no-tracing-enabled``,
        ``--trace-sample-ratio 1.0``."""
        out: list[str] = []
        for name, value in self.settings.items():
            flag = name.replace("_", "-")
            if isinstance(value, bool):
                out.append(f"--{flag}" if value else f"--no-{flag}")
            else:
                out += [f"--{flag}", str(value)]
        return out

    @property
    def name(self) -> str:
        """The label, and the flags when it has any: what a table's row says."""
        return f"{self.label} ({' '.join(self.args())})" if self.settings else self.label


BARE = ServiceVariant("bare: baseline", {"instrumented": False, "tracing_enabled": False})
# Request id, RED metrics, an access line for each error and slow request.
TELEMETRY = ServiceVariant("telemetry, tracing off", {"tracing_enabled": False})
DEFAULTS = ServiceVariant("defaults: telemetry, 1% of requests traced")
# The access log's old default: 1% of the fast successes logged too.
SAMPLED = ServiceVariant(
    "telemetry, 1% of fast successes logged too, tracing off",
    {"tracing_enabled": False},
    {"access_log": {"sample_rate": 0.01}},
)
ALL_TRACED = ServiceVariant("telemetry, every request traced", {"trace_sample_ratio": 1.0})
ALL_LOGGED = ServiceVariant(
    "telemetry, every request logged, tracing off",
    {"tracing_enabled": False},
    {"access_log": {"sample_rate": 1.0}},
)
# The bare service again: two identical servers read this far apart (the noise floor).
BARE_AGAIN = ServiceVariant("bare again (A/A: the noise floor)", BARE.settings)

# Issue 2's question, baseline first. Its 5% goal is on TELEMETRY (request id, RED metrics,
# access log); DEFAULTS adds 1% tracing, which the issue does not name.
INSTRUMENTATION = (BARE, TELEMETRY, DEFAULTS, SAMPLED, ALL_TRACED, ALL_LOGGED)
# The same, with the A/A row second: for the benches where two identical servers or processes
# can be set side by side to show the noise floor.
WITH_NOISE_FLOOR = (BARE, BARE_AGAIN, *INSTRUMENTATION[1:])
