"""``labctl``: the lab's command line. ``labctl --help`` lists the commands.

Each command echoes what it runs, and ends by printing the next command to type.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from labctl.patient import FaultBoard, Patient, PatientError
from labctl.preflight import run_checks
from labctl.probes.pyspy import record_cpu
from labctl.probes.target import ProbeError, Target
from labctl.processes import ProcessError
from labctl.stack import Stack

app = typer.Typer(
    name="labctl",
    help="Run the Python diagnostics lab: start the patient, drive it, profile it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
RunDir = Annotated[
    Path, typer.Option("--run-dir", envvar="LABCTL_RUN_DIR", help="lab state and logs")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]


@app.command()
def preflight(as_json: JsonFlag = False) -> None:
    """Check what the lab needs here (ptrace, gdb, profilers, prometheus, ports) and say how
    to fix each gap. Exit 1 when something required is missing."""
    checks = run_checks()
    if as_json:
        print(json.dumps([c.to_json() for c in checks], indent=2))
    else:
        table = Table("check", "", "detail", "fix")
        for c in checks:
            mark = "[green]ok[/green]" if c.ok else ("[red]missing[/red]" if c.required
                                                     else "[yellow]optional[/yellow]")  # fmt: skip
            table.add_row(c.name, mark, c.detail, c.fix)
        Console().print(table)
    gaps = [c for c in checks if c.required and not c.ok]
    if gaps:
        console.print(f"{len(gaps)} required check(s) failed; fix them, then: labctl preflight")
        raise typer.Exit(1)
    console.print("next: [bold]make up[/bold]")


@app.command()
def up(run_dir: RunDir = Path("run")) -> None:
    """Start the local stack (idempotent) and print its URLs."""
    stack = Stack(run_dir)
    try:
        status = stack.up(progress=lambda cmd: console.print(f"[dim]$ {cmd}[/dim]"))
    except ProcessError as exc:
        console.print(f"[red]labctl up failed:[/red] {exc}")
        raise typer.Exit(1) from None
    for name, url in status.urls.items():
        console.print(f"  {name:<20} {url}")
    console.print(f"debug token in {run_dir}/debug.token (mode 0600), logs in {run_dir}/logs")
    console.print("next: [bold]labctl status[/bold], or [bold]make down[/bold] to stop")


@app.command()
def down(run_dir: RunDir = Path("run")) -> None:
    """Stop what ``labctl up`` started, by PID."""
    stopped = Stack(run_dir).down(progress=console.print)
    if not stopped:
        console.print("nothing was running")
    console.print("next: [bold]make up[/bold] to start again")


@app.command()
def status(run_dir: RunDir = Path("run"), as_json: JsonFlag = False) -> None:
    """Show which lab processes run, with PIDs and URLs."""
    st = Stack(run_dir).status()
    if as_json:
        print(json.dumps({name: rec.to_json() for name, rec in st.running.items()}, indent=2))
        return
    table = Table("process", "pid", "urls")
    for name, rec in st.running.items():
        table.add_row(name, str(rec.pid), "\n".join(rec.urls.values()))
    for name in st.stale:
        table.add_row(name, "-", "[yellow]not running (stale record)[/yellow]")
    Console().print(table)
    if not st.running:
        console.print("next: [bold]labctl up[/bold]")


fault_app = typer.Typer(help="List planted faults and switch them on or off.", no_args_is_help=True)
app.add_typer(fault_app, name="fault")


def _patient(run_dir: Path) -> Patient:
    try:
        return Patient.from_run_dir(run_dir)
    except PatientError as exc:
        console.print(f"[red]labctl:[/red] {exc}")
        raise typer.Exit(exc.exit_code) from None


def _show_board(board: FaultBoard, as_json: bool) -> None:
    if as_json:
        print(json.dumps([asdict(f) for f in board.catalogue], indent=2))
        return
    table = Table("fault", "state", "intensities", "summary", "symptoms", "cap")
    for f in board.catalogue:
        state = f"[red]on {f.active}[/red]" if f.active else "off"
        table.add_row(f.id, state, " ".join(f.intensities), f.summary, "\n".join(f.symptoms), f.cap)
    Console().print(table)


def _switch(run_dir: Path, action: Callable[[Patient], FaultBoard], done: str) -> None:
    patient = _patient(run_dir)
    try:
        board = action(patient)
    except PatientError as exc:
        console.print(f"[red]labctl:[/red] {exc}")
        raise typer.Exit(exc.exit_code) from None
    finally:
        patient.close()
    active = ", ".join(f"{k} {v}" for k, v in board.active.items()) or "none"
    console.print(f"{done}; active now: {active}")
    console.print("next: [bold]labctl fault list[/bold]; [bold]labctl fault off --all[/bold] heals")


@fault_app.command("list")
def fault_list(run_dir: RunDir = Path("run"), as_json: JsonFlag = False) -> None:
    """The fault catalogue, as the running service reports it, with what is on."""
    patient = _patient(run_dir)
    try:
        board = patient.faults()
    except PatientError as exc:
        console.print(f"[red]labctl:[/red] {exc}")
        raise typer.Exit(exc.exit_code) from None
    finally:
        patient.close()
    _show_board(board, as_json)


@fault_app.command("on")
def fault_on(
    fault_id: Annotated[str, typer.Argument(help="a fault id from `labctl fault list`")],
    intensity: Annotated[str, typer.Option(help="1x, 10x or 100x")] = "1x",
    run_dir: RunDir = Path("run"),
) -> None:
    """Switch a fault on (applies within a second, no restart)."""
    console.print(f"[dim]$ PUT /admin/faults/{fault_id}?intensity={intensity}[/dim]")
    _switch(run_dir, lambda p: p.fault_on(fault_id, intensity), f"{fault_id} on at {intensity}")


@fault_app.command("off")
def fault_off(
    fault_id: Annotated[str | None, typer.Argument(help="a fault id; omit with --all")] = None,
    all_faults: Annotated[bool, typer.Option("--all", help="switch every fault off")] = False,
    run_dir: RunDir = Path("run"),
) -> None:
    """Switch a fault off, or every fault with --all; what it held is released."""
    if (fault_id is None) == (not all_faults):
        console.print("[red]labctl:[/red] name one fault, or pass --all (not both)")
        raise typer.Exit(2)
    console.print(f"[dim]$ DELETE /admin/faults{'' if all_faults else '/' + str(fault_id)}[/dim]")
    _switch(run_dir, lambda p: p.fault_off(fault_id), f"{fault_id or 'every fault'} off")


profile_app = typer.Typer(help="Attach profilers to a live process.", no_args_is_help=True)
app.add_typer(profile_app, name="profile")
PidOption = Annotated[int | None, typer.Option("--pid", help="a running Python process")]
SecondsOption = Annotated[
    float, typer.Option("--seconds", min=0.5, max=3600, help="capture length")
]
CommandArg = Annotated[
    list[str] | None, typer.Argument(help="or a command to run under the profiler, after --")
]


def _run_folder(run_dir: Path, kind: str) -> Path:
    return run_dir / "profiles" / f"{datetime.now():%Y%m%d-%H%M%S}-{kind}"


@profile_app.command("cpu")
def profile_cpu(
    pid: PidOption = None,
    seconds: SecondsOption = 10.0,
    rate: Annotated[int, typer.Option(min=1, max=1000, help="samples a second")] = 100,
    idle: Annotated[bool, typer.Option(help="include threads that wait")] = False,
    command: CommandArg = None,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> None:
    """py-spy record: flamegraph SVG, speedscope JSON, and functions by self and total share."""
    try:
        target = Target(pid=pid, command=tuple(command or ()))
        out = _run_folder(run_dir, "cpu")
        with console.status(f"sampling {target.describe()} for {seconds:g} s"):
            profile = record_cpu(
                target, seconds, out, rate, idle=idle,
                echo=lambda line: console.print(f"[dim]$ {line}[/dim]"),
            )  # fmt: skip
    except ProbeError as exc:
        console.print(f"[red]labctl:[/red] {exc}")
        raise typer.Exit(exc.exit_code) from None
    if as_json:
        print(json.dumps(profile.to_json(), indent=2))
        return
    table = Table("self %", "total %", "function", "file:line", title=f"{profile.samples} samples")
    for row in profile.top:
        table.add_row(f"{row.self_pct:.1f}", f"{row.total_pct:.1f}", row.function,
                      f"{row.file}:{row.line}")  # fmt: skip
    Console().print(table)
    for name, path in profile.artefacts.items():
        console.print(f"  {name:<11} {path}")
    console.print(
        f"next: open {profile.artefacts['flamegraph']} in a browser, or drop the speedscope "
        "file on https://www.speedscope.app"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # Non-standalone click returns the code of a typer.Exit instead of raising it.
        code = app(args, standalone_mode=False)
        return code if isinstance(code, int) else 0
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        return 130
    except Exception as exc:  # click's usage errors carry their own exit code
        show = getattr(exc, "show", None)
        code = getattr(exc, "exit_code", 1)
        if callable(show):
            show()
            return int(code)
        raise
