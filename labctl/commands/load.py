"""``labctl load start|stop|status``: locust clicking the service in the background."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Annotated

import typer

from labctl.commands.common import JsonFlag, RunDir, console, echo, fail
from labctl.load import LoadError, LoadShape, read_stats, running, start_load, stop_load

app = typer.Typer(help="Drive load at the service (locust, headless).", no_args_is_help=True)


@app.command("start")
def start(
    run_dir: RunDir = Path("run"),
    users: Annotated[int, typer.Option(help="simulated users sharing the rate")] = 10,
    rate: Annotated[float, typer.Option(help="requests a second, in total")] = 30.0,
    create_share: Annotated[
        float, typer.Option(help="share of requests that create a link (and mail its owner)")
    ] = 0.02,
    seconds: Annotated[
        float | None, typer.Option(help="stop by itself after this long; default: never")
    ] = None,
    url: Annotated[str | None, typer.Option(help="target; default: the stack's service")] = None,
) -> None:
    """Start clicking: campaign traffic at a steady rate, until ``labctl load stop``."""
    shape = LoadShape(users=users, rate=rate, create_share=create_share, seconds=seconds)
    try:
        record = start_load(run_dir, url, shape)
    except LoadError as exc:
        fail(exc)
    echo(shlex.join(record.cmd))
    console.print(f"load running (pid {record.pid}) against {record.urls['target']}; "
                  f"log in {record.log}")  # fmt: skip
    console.print("next: [bold]labctl load status[/bold], then [bold]labctl load stop[/bold]")


@app.command("stop")
def stop(run_dir: RunDir = Path("run")) -> None:
    """Stop the load by PID; its final totals stay in RUN_DIR/load/."""
    record = stop_load(run_dir)
    if record is None:
        console.print("no load was running")
    else:
        console.print(f"stopped load (pid {record.pid})")
        _show(run_dir)
    console.print("next: [bold]labctl load start[/bold] to drive it again")


@app.command("status")
def status(
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
    wait: Annotated[
        float, typer.Option(help="wait up to this many seconds for the first totals")
    ] = 0.0,
) -> None:
    """Is load running, and locust's totals so far: requests, failures, rate, p50, p99."""
    record = running(run_dir)
    deadline = time.monotonic() + wait
    stats = read_stats(run_dir)
    while stats is None and time.monotonic() < deadline:
        time.sleep(0.5)
        stats = read_stats(run_dir)
    if as_json:
        print(json.dumps({
            "running": record is not None,
            "pid": record.pid if record else None,
            "stats": stats.to_json() if stats else None,
        }, indent=2))  # fmt: skip
        return
    console.print(f"load: running (pid {record.pid})" if record else "load: not running")
    _show(run_dir)
    if record is None:
        console.print("next: [bold]labctl load start[/bold]")


def _show(run_dir: Path) -> None:
    stats = read_stats(run_dir)
    if stats is None:
        console.print("  no totals yet (locust writes them every few seconds)")
        return
    console.print(
        f"  {stats.requests} requests, {stats.failures} failed, "
        f"{stats.requests_per_second:.1f}/s, p50 {stats.p50_ms:g} ms, p99 {stats.p99_ms:g} ms"
    )
