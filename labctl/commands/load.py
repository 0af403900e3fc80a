"""``labctl load start|stop|status``: locust clicking the service in the background."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Annotated

import typer

from labctl.commands.output import JsonFlag, Outcome, RunDir, echo, emits
from labctl.contract import LOAD, RunLayout
from labctl.stack.supervisor import Stack
from labctl.stack.traffic import LoadShape, LoadStats, read_stats, start_load, stop_load

app = typer.Typer(help="Drive load at the service (locust, headless).", no_args_is_help=True)


@app.command("start")
@emits
def start(
    run_dir: RunDir = Path("run"),
    users: Annotated[int, typer.Option(help="simulated users sharing the rate")] = LoadShape.users,
    rate: Annotated[float, typer.Option(help="requests a second, in total")] = LoadShape.rate,
    create_share: Annotated[
        float, typer.Option(help="share of requests that create a link (and mail its owner)")
    ] = LoadShape.create_share,
    referrers: Annotated[
        int, typer.Option(help="distinct pages the clicks come from (each sends its Referer)")
    ] = LoadShape.referrers,
    preview_share: Annotated[
        float, typer.Option(help="share of visits that open the preview page instead")
    ] = LoadShape.preview_share,
    seconds: Annotated[
        float | None, typer.Option(help="stop by itself after this long; default: never")
    ] = None,
    url: Annotated[str | None, typer.Option(help="target; default: the stack's service")] = None,
) -> Outcome:
    """Start clicking: campaign traffic at a steady rate, until ``labctl load stop``."""
    shape = LoadShape(users=users, rate=rate, create_share=create_share, referrers=referrers,
                      preview_share=preview_share, seconds=seconds)  # fmt: skip
    record = start_load(Stack(run_dir).status(), url, shape)
    echo(shlex.join(record.cmd))
    return Outcome(
        lines=[
            f"load running (pid {record.pid}) against {record.urls['target']}; log in {record.log}"
        ],
        next="[bold]labctl load status[/bold], then [bold]labctl load stop[/bold]",
    )


@app.command("stop")
@emits
def stop(run_dir: RunDir = Path("run")) -> Outcome:
    """Stop the load by PID; its final totals stay in RUN_DIR/load/."""
    record = stop_load(Stack(run_dir).status())
    if record is None:
        lines = ["no load was running"]
    else:
        lines = [f"stopped load (pid {record.pid})", _totals(read_stats(RunLayout(run_dir)))]
    return Outcome(lines=lines, next="[bold]labctl load start[/bold] to drive it again")


@app.command("status")
@emits
def status(
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
    wait: Annotated[
        float, typer.Option(help="wait up to this many seconds for the first totals")
    ] = 0.0,
) -> Outcome:
    """Is load running, and locust's totals so far: requests, failures, rate, p50, p99."""
    record = Stack(run_dir).status().running.get(LOAD)
    layout = RunLayout(run_dir)
    deadline = time.monotonic() + wait
    stats = read_stats(layout)
    while stats is None and time.monotonic() < deadline:
        time.sleep(0.5)
        stats = read_stats(layout)
    return Outcome(
        json={
            "running": record is not None,
            "pid": record.pid if record else None,
            "stats": stats.to_json() if stats else None,
        },
        lines=[
            f"load: running (pid {record.pid})" if record else "load: not running",
            _totals(stats),
        ],
        next=None if record else "[bold]labctl load start[/bold]",
    )


def _totals(stats: LoadStats | None) -> str:
    if stats is None:
        return "  no totals yet (locust writes them every few seconds)"
    return (
        f"  {stats.requests} requests, {stats.failures} failed, "
        f"{stats.requests_per_second:.1f}/s, p50 {stats.p50_ms:g} ms, p99 {stats.p99_ms:g} ms"
    )
