"""``labctl``: the lab's command line. ``labctl --help`` lists the commands.

Each command echoes what it runs, and ends by printing the next command to type.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

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


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args, standalone_mode=False)
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
    return 0
