"""``labctl``: the lab's command line. ``labctl --help`` lists the commands.

This module is the list of command groups and :func:`main`; every command lives in
:mod:`labctl.commands`, returns an :class:`~labctl.commands.output.Outcome`, and is rendered
by one emitter. Each command echoes what it runs, and ends by printing the next command.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from labctl.commands import (
    dashboards,
    diagnose,
    drill,
    fault,
    grafana,
    lab,
    load,
    profile,
    reputation,
    smtp,
    stack_control,
    top,
    workshop,
)

app = typer.Typer(
    name="labctl",
    help="Run the Python diagnostics lab: start the patient, drive it, profile it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("preflight")(stack_control.preflight)
app.command("up")(stack_control.up)
app.command("down")(stack_control.down)
app.command("status")(stack_control.status)
app.command("attach")(stack_control.attach)
app.add_typer(fault.app, name="fault")
app.add_typer(profile.app, name="profile")
app.command("diagnose")(diagnose.diagnose_cmd)
app.command("top")(top.top)
app.add_typer(grafana.app, name="grafana")
app.add_typer(load.app, name="load")
app.add_typer(lab.app, name="lab")
app.add_typer(drill.app, name="drill")
app.add_typer(smtp.app, name="smtp")
app.add_typer(reputation.app, name="reputation")
app.add_typer(dashboards.app, name="dashboards")
app.add_typer(workshop.app, name="workshop")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``labctl`` with ``argv`` (default: the process's arguments); the exit code."""
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
