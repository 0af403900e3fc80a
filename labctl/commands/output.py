"""What every command shares: the consoles, the common options, and one way to end.

A command returns an :class:`Outcome`; :func:`emits` renders it the same way for all of
them: the JSON body alone on stdout with ``--json``; otherwise its tables on stdout, then its
lines, notes, artefacts and the next command to type on stderr. A :class:`LabctlError` ends
any command with its sentence and exit code, never a traceback::

    @app.command("list")
    @emits
    def list_(as_json: JsonFlag = False) -> Outcome:
        labs = all_labs()
        return Outcome(json=[...], tables=[table], next="labctl lab start 01")
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec

import typer
from rich.console import Console, RenderableType
from rich.markup import escape

from labctl.errors import LabctlError

stdout = Console()  # tables: what a pipe keeps
console = Console(stderr=True)  # everything said to the person at the terminal
RunDir = Annotated[
    Path, typer.Option("--run-dir", envvar="LABCTL_RUN_DIR", help="lab state and logs")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]
P = ParamSpec("P")


@dataclass
class Outcome:
    """A command's result, ready to render. ``json`` is what ``--json`` prints (a command
    without one always shows the table view); ``lines`` to ``next`` are the table view's;
    ``failure`` is said in both views, before exiting with ``exit_code``."""

    json: Any = None
    tables: Sequence[RenderableType] = ()
    lines: Sequence[str] = ()
    notes: Sequence[str] = ()
    artefacts: Mapping[str, str] = field(default_factory=dict)
    next: str | None = None
    exit_code: int = 0
    failure: str | None = None


def emit(outcome: Outcome, as_json: bool) -> None:
    if as_json and outcome.json is not None:
        print(json.dumps(outcome.json, indent=2, default=str))
    else:
        for table in outcome.tables:
            stdout.print(table)
        for line in outcome.lines:
            console.print(line)
        for note in outcome.notes:
            console.print(f"[yellow]note:[/yellow] {note}")
        for name, path in outcome.artefacts.items():
            console.print(f"  {name:<11} {path}")
        if outcome.next:
            console.print(f"next: {outcome.next}")
    if outcome.failure:
        console.print(outcome.failure)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def emits(command: Callable[P, Outcome]) -> Callable[P, None]:
    """Register-ready: run ``command``, render its outcome (``--json`` when its ``as_json``
    is set), and turn a :class:`LabctlError` into its sentence and exit code."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            outcome = command(*args, **kwargs)
        except LabctlError as exc:
            fail(exc)
        emit(outcome, bool(kwargs.get("as_json", False)))

    return run


def fail(exc: LabctlError) -> NoReturn:
    """Print the error's sentence and exit with its code (never a traceback)."""
    console.print(f"[red]labctl:[/red] {escape(str(exc))}")  # paths may hold [ ]
    raise typer.Exit(exc.exit_code) from None


def echo(command: str) -> None:
    """Show the tool command a step runs, dimmed, as a shell line."""
    console.print(f"[dim]$ {command}[/dim]", soft_wrap=True)  # copy-pasteable: no wrapping
