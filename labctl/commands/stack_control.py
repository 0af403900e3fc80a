"""``labctl preflight|up|down|status|attach``: check this machine, start and stop the local
stack, or attach one started elsewhere (docker compose)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from labctl import contract
from labctl.commands.output import JsonFlag, Outcome, RunDir, console, echo, emits
from labctl.contract import SERVICE, RunLayout
from labctl.errors import LabctlError
from labctl.evidence.patient import Patient
from labctl.render.tables import checks_table
from labctl.stack.attachment import ServiceAddress, attach_service
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
        lines=[] if stopped else ["nothing labctl started was running"],
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


def _token(path: Path, what: str) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise LabctlError(f"cannot read the {what} token {path}: {exc.strerror}", 2) from None


def _loopback(port: int, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{port}"


@emits
def attach(
    token_file: Annotated[
        Path, typer.Option(help="the service's debug token (compose: /data/debug.token in app)")
    ],
    operator_token_file: Annotated[
        Path | None,
        typer.Option(help="its operator token: fault switches, drills (/data/operator.token)"),
    ] = None,
    api_url: Annotated[str, typer.Option(help="its API")] = _loopback(contract.SERVICE_PORT),
    debug_url: Annotated[str, typer.Option(help="its debug surface")] = _loopback(
        contract.DEBUG_PORT
    ),
    metrics_url: Annotated[str, typer.Option(help="its /metrics")] = _loopback(
        contract.METRICS_PORT
    ),
    stream_url: Annotated[str, typer.Option(help="its click stream")] = _loopback(
        contract.STREAM_PORT, "ws"
    ),
    pid: Annotated[
        int | None,
        typer.Option(help="its PID on this machine (default: the process listening on the API)"),
    ] = None,
    run_dir: RunDir = Path("run"),
) -> Outcome:
    """Attach a lab service that labctl did not start (docker compose, another terminal):
    its URLs, PID and tokens (0600) go into the run directory, so every command given it works
    on that service. ``labctl down`` leaves it running."""
    token = _token(token_file, "debug")
    operator = None if operator_token_file is None else _token(operator_token_file, "operator")
    layout = RunLayout(run_dir)
    address = ServiceAddress(api_url, debug_url, metrics_url, stream_url)
    record = attach_service(layout, address, token, operator, pid)
    echo(f"GET {record.urls['debug'].removesuffix('/debug/')}/admin/faults")
    try:
        with Patient.from_record(record, layout) as patient:
            board = patient.faults()
            patient.max_window_seconds()  # a debug view: the observer's token works too
    except LabctlError as exc:
        Stack(run_dir).forget(SERVICE)
        raise LabctlError(f"attached nothing: {exc}", exc.exit_code) from None
    return Outcome(
        lines=[
            f"attached {SERVICE} (pid {record.pid}) in {run_dir}; it serves "
            f"{len(board.catalogue)} faults",
            *(f"  {what:<8} {url}" for what, url in record.urls.items()),
        ],
        next=f"[bold]labctl fault list --run-dir {run_dir}[/bold]",
    )
