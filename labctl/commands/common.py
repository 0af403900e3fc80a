"""What every command shares: the console, the common options, the error exit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from labctl.errors import LabctlError

console = Console(stderr=True)
RunDir = Annotated[
    Path, typer.Option("--run-dir", envvar="LABCTL_RUN_DIR", help="lab state and logs")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]


def fail(exc: LabctlError) -> NoReturn:
    """Print the error's sentence and exit with its code (never a traceback)."""
    console.print(f"[red]labctl:[/red] {escape(str(exc))}")  # paths may hold [ ]
    raise typer.Exit(exc.exit_code) from None


def echo(command: str) -> None:
    """Show the tool command a step runs, dimmed, as a shell line."""
    console.print(f"[dim]$ {command}[/dim]", soft_wrap=True)  # copy-pasteable: no wrapping
