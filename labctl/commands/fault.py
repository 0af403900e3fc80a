"""``labctl fault list|on|off``: the planted faults of the running service, switched live."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from labctl.commands.grafana import annotate_switch
from labctl.commands.output import JsonFlag, Outcome, RunDir, echo, emits
from labctl.errors import LabctlError
from labctl.evidence.patient import Patient
from labctl.records.fault_board import FaultBoard
from labctl.render.tables import faults_table

app = typer.Typer(help="List planted faults and switch them on or off.", no_args_is_help=True)


def _switch(
    run_dir: Path, action: Callable[[Patient], FaultBoard], done: str, fault: str
) -> Outcome:
    with Patient.from_run_dir(run_dir) as patient:
        board = action(patient)
    active = ", ".join(f"{k} {v}" for k, v in board.active.items()) or "none"
    active = "hidden (a drill is running)" if board.drill else active
    lines = [f"{done}; active now: {active}", *annotate_switch(f"fault {done}", ["fault", fault])]
    return Outcome(
        lines=lines,
        next="[bold]labctl fault list[/bold]; [bold]labctl fault off --all[/bold] heals",
    )


@app.command("list")
@emits
def fault_list(run_dir: RunDir = Path("run"), as_json: JsonFlag = False) -> Outcome:
    """The fault catalogue, as the running service reports it, with what is on (hidden in a
    drill). The culprits are not listed: they are the labs' and drills' answers."""
    with Patient.from_run_dir(run_dir) as patient:
        board = patient.faults()
    return Outcome(json=board.listing(), tables=[faults_table(board)])


@app.command("on")
@emits
def fault_on(
    fault_id: Annotated[str, typer.Argument(help="a fault id from `labctl fault list`")],
    intensity: Annotated[str, typer.Option(help="1x, 10x or 100x")] = "1x",
    run_dir: RunDir = Path("run"),
) -> Outcome:
    """Switch a fault on (applies within a second, no restart)."""
    echo(f"PUT /admin/faults/{fault_id}?intensity={intensity}")
    return _switch(
        run_dir,
        lambda p: p.fault_on(fault_id, intensity),
        f"{fault_id} on at {intensity}",
        fault_id,
    )


@app.command("off")
@emits
def fault_off(
    fault_id: Annotated[str | None, typer.Argument(help="a fault id; omit with --all")] = None,
    all_faults: Annotated[bool, typer.Option("--all", help="switch every fault off")] = False,
    run_dir: RunDir = Path("run"),
) -> Outcome:
    """Switch a fault off, or every fault with --all; what it held is released."""
    if (fault_id is None) == (not all_faults):
        raise LabctlError("name one fault, or pass --all (not both)", 2)
    echo(f"DELETE /admin/faults{'' if all_faults else '/' + str(fault_id)}")
    return _switch(
        run_dir, lambda p: p.fault_off(fault_id), f"{fault_id or 'every fault'} off",
        fault_id or "all",
    )  # fmt: skip
