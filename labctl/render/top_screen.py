"""``labctl top``'s screen: one table of vital signs, red where a symptom shows."""

from __future__ import annotations

from rich.table import Table

from labctl.records.vitals import Vitals

# Where a value turns red: the same lines the alert rules draw, loosely.
HOT_CPU_PERCENT = 80.0
HOT_P99_SECONDS = 0.25
HOT_LOOP_LAG_SECONDS = 0.1
HOT_GC_PAUSE_SECONDS = 0.05
HOT_ERROR_RATIO = 0.05
HOT_FD_SHARE = 0.8


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def _mark(text: str, hot: bool) -> str:
    return f"[bold red]{text}[/bold red]" if hot else text


def _over(value: float | None, line: float) -> bool:
    return value is not None and value > line


def vitals_table(v: Vitals, title: str) -> Table:
    table = Table("vital", "value", title=f"{title}  (last {v.seconds:.1f} s)", min_width=60)
    fds = "-" if v.open_fds is None else f"{v.open_fds:.0f}"
    if v.open_fds is not None and v.max_fds:
        fds += f" of {v.max_fds:.0f}"
    fd_hot = bool(v.open_fds and v.max_fds and v.open_fds / v.max_fds > HOT_FD_SHARE)
    errors = "-" if v.error_ratio is None else f"{v.error_ratio:.1%}"
    caches = ", ".join(f"{k} {n:.0f}" for k, n in sorted(v.cache_entries.items())) or "-"
    rows = [
        ("requests/s", f"{v.requests_per_second:.1f}", False),
        ("latency p50", _ms(v.p50_seconds), False),
        ("latency p99", _ms(v.p99_seconds), _over(v.p99_seconds, HOT_P99_SECONDS)),
        ("5xx", errors, _over(v.error_ratio, HOT_ERROR_RATIO)),
        ("CPU", "-" if v.cpu_percent is None else f"{v.cpu_percent:.0f}% of a core",
         _over(v.cpu_percent, HOT_CPU_PERCENT)),
        ("RSS", "-" if v.rss_bytes is None else f"{v.rss_bytes / 2**20:.0f} MiB", False),
        ("asyncio tasks", "-" if v.tasks is None else f"{v.tasks:.0f}", False),
        ("loop lag p99", _ms(v.loop_lag_p99_seconds),
         _over(v.loop_lag_p99_seconds, HOT_LOOP_LAG_SECONDS)),
        ("GC collections/s", f"{v.gc_collections_per_second:.1f}", False),
        ("GC pause p99", _ms(v.gc_pause_p99_seconds),
         _over(v.gc_pause_p99_seconds, HOT_GC_PAUSE_SECONDS)),
        ("cache entries", caches, False),
        ("open fds", fds, fd_hot),
        ("faults on", ", ".join(v.active_faults) or "none shown", bool(v.active_faults)),
    ]  # fmt: skip
    for name, value, hot in rows:
        table.add_row(name, _mark(value, hot))
    return table
