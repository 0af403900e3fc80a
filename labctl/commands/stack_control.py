"""``labctl preflight|up|down|status``: check this machine, start and stop the local stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from labctl.commands.output import JsonFlag, Outcome, RunDir, console, echo, emits
from labctl.render.tables import checks_table
from labctl.stack.preflight import run_checks
from labctl.stack.processes import ProcessError
from labctl.stack.supervisor import Stack


@emits
def preflight(as_json: JsonFlag = False) -> Outcome:
    """Check what the lab needs here (ptrace, gdb, profilers, prometheus, ports) and say how
    to fix each gap. Exit 1 when something required is missing."""
    checks = run_checks()
    gaps = [c for c in checks if c.required and not c.ok]
    if gaps:
        return Outcome(
            json=[c.to_json() for c in checks],
            tables=[checks_table(checks)],
            failure=f"{len(gaps)} required check(s) failed; fix them, then: labctl preflight",
            exit_code=1,
        )
    return Outcome(
        json=[c.to_json() for c in checks],
        tables=[checks_table(checks)],
        next="[bold]make up[/bold]",
    )


@emits
def up(
    run_dir: RunDir = Path("run"),
    redis: Annotated[
        bool,
        typer.Option(
            "--redis",
            help="also start redis-server and give the service REDIS_URL: one rate limit and "
            "one scheduler leader across instances, as in docker compose",
        ),
    ] = False,
) -> Outcome:
    """Start the local stack (idempotent) and print its URLs."""
    try:
        status = Stack(run_dir).up(progress=echo, redis=redis)
    except ProcessError as exc:
        console.print(f"[red]labctl up failed:[/red] {exc}")
        raise typer.Exit(1) from None
    return Outcome(
        lines=[
            *(f"  {name:<20} {url}" for name, url in status.urls.items()),
            f"debug token in {run_dir}/debug.token (mode 0600), logs in {run_dir}/logs",
        ],
        next="[bold]labctl status[/bold], or [bold]make down[/bold] to stop",
    )


@emits
def down(run_dir: RunDir = Path("run")) -> Outcome:
    """Stop what ``labctl up`` started, by PID."""
    stopped = Stack(run_dir).down(progress=console.print)
    return Outcome(
        lines=[] if stopped else ["nothing was running"],
        next="[bold]make up[/bold] to start again",
    )


@emits
def status(run_dir: RunDir = Path("run"), as_json: JsonFlag = False) -> Outcome:
    """Show which lab processes run, with PIDs and URLs."""
    st = Stack(run_dir).status()
    table = Table("process", "pid", "urls")
    for name, rec in st.running.items():
        table.add_row(name, str(rec.pid), "\n".join(rec.urls.values()))
    for name in st.stale:
        table.add_row(name, "-", "[yellow]not running (stale record)[/yellow]")
    return Outcome(
        json={name: rec.to_json() for name, rec in st.running.items()},
        tables=[table],
        next=None if st.running else "[bold]labctl up[/bold]",
    )
