"""``labctl lab list|start|check|stop|verify``: the graded labs of ``labs/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labctl.commands.common import JsonFlag, RunDir, console, echo, fail
from labctl.errors import LabctlError
from labctl.gc_tuning import compare_gc_settings
from labctl.lab_runs import (
    Verdict,
    check_answer,
    check_fix,
    current,
    start_lab,
    stop_lab,
    verify_lab,
)
from labctl.labs import Lab, LabError, all_labs, load_lab
from labctl.patient import Patient
from labctl.render import tables

app = typer.Typer(help="Graded labs: start a scenario, name the culprit.", no_args_is_help=True)
LabKey = Annotated[str, typer.Argument(help="the lab's number (01) or folder name")]
Errors = LabctlError


@app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """The labs, by symptom (the cause is what you find out)."""
    try:
        labs = all_labs()
    except LabError as exc:
        fail(exc)
    if as_json:
        print(json.dumps([{"number": lab.number, "title": lab.title, "alert": lab.alert,
                           "folder": str(lab.folder)} for lab in labs], indent=2))  # fmt: skip
        return
    table = Table("lab", "symptom", "alert that pages", "tools that help")
    for lab in labs:
        table.add_row(lab.number, lab.title, lab.alert, "\n".join(lab.tools))
    Console().print(table)
    console.print("next: [bold]labctl lab start 01[/bold]")


@app.command("start")
def start(key: LabKey, run_dir: RunDir = Path("run")) -> None:
    """Set the scene: load on the service, the lab's world, and something goes wrong."""
    try:
        lab = load_lab(key)
        start_lab(run_dir, lab, echo=echo)
    except Errors as exc:
        fail(exc)
    console.print(f"lab {lab.number} · {lab.title}: the page is {lab.readme}")
    console.print(f"alert to expect: {lab.alert}; dashboard: /d/{lab.dashboard}")
    console.print(f"question: {lab.question}")
    console.print(f"next: [bold]labctl diagnose[/bold], then "
                  f"[bold]labctl lab check {lab.number} --answer Class.method[/bold]")  # fmt: skip


@app.command("check")
def check(
    key: LabKey,
    answer: Annotated[
        str | None, typer.Option(help="the function you name, e.g. Class.method")
    ] = None,
    fix: Annotated[
        bool, typer.Option("--fix", help="run the lab's fix test against your edited code")
    ] = False,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> None:
    """Grade your answer against the service's catalogue, or (--fix) your fix against the
    lab's test. Exit 0 when right, 1 when not."""
    if (answer is None) == (not fix):
        fail(LabError("give --answer Class.method, or --fix (not both)", 2))
    try:
        lab = load_lab(key)
        if fix:
            verdict = check_fix(lab, echo=echo)
            _report(lab, verdict, as_json)
            return
        with Patient.from_run_dir(run_dir) as patient:
            faults = {f.id: f for f in patient.faults().catalogue}
    except Errors as exc:
        fail(exc)
    if lab.fault not in faults:
        fail(LabError(f"the running service has no fault {lab.fault!r}; is it this lab's?"))
    assert answer is not None
    _report(lab, check_answer(answer, faults[lab.fault].culprit), as_json)


def _report(lab: Lab, verdict: Verdict, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"lab": lab.number, "correct": verdict.correct,
                          "message": verdict.message}))  # fmt: skip
    else:
        console.print(("[green]" if verdict.correct else "[yellow]") + escape(verdict.message))
        console.print(f"next: read {lab.solution}, then [bold]labctl lab stop[/bold]"
                      if verdict.correct else "next: look again, and answer again")  # fmt: skip
    if not verdict.correct:
        raise typer.Exit(1)


@app.command("gc-tuning")
def gc_tuning(
    seconds: Annotated[float, typer.Option(min=3, max=300, help="each setting's window")] = 15.0,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> None:
    """Lab 05's exercise: default thresholds, raised ones, gc.freeze() and the cycle removed,
    measured side by side in one run (about 4 windows and a minute of set-up)."""
    try:
        trials = compare_gc_settings(
            run_dir, seconds, echo=echo, progress=lambda m: console.print(f"measuring: {m}")
        )
    except Errors as exc:
        fail(exc)
    if as_json:
        print(json.dumps([t.to_json() for t in trials], indent=2))
        return
    Console().print(tables.gc_trials_table(trials))
    console.print("next: read labs/05-p99-spikes/solution.md (Tuning), then make the fix: "
                  "[bold]labctl lab check 05 --fix[/bold]")  # fmt: skip


@app.command("stop")
def stop(run_dir: RunDir = Path("run")) -> None:
    """Put the service back: faults off, mail healed, load stopped."""
    run = stop_lab(run_dir)
    console.print(f"lab {run.number} stopped" if run else "no lab was running; all clear")
    console.print("next: [bold]labctl lab list[/bold]")


@app.command("verify")
def verify(
    key: LabKey,
    run_dir: RunDir = Path("run"),
    timeout: Annotated[float, typer.Option(help="seconds to wait for the signals")] = 120.0,
    as_json: JsonFlag = False,
) -> None:
    """For trainers: rehearse a lab here and show each signal before and with the fault.
    Exit 1 if a signal did not cross its threshold."""
    try:
        lab = load_lab(key)
        if current(run_dir) is not None:
            raise LabError("a lab is running; first: labctl lab stop")
        readings = verify_lab(run_dir, lab, echo=echo, timeout=timeout)
    except Errors as exc:
        fail(exc)
    if as_json:
        print(json.dumps([{"signal": r.signal.name, "baseline": r.baseline, "value": r.value,
                           "target": r.signal.target(r.baseline), "met": r.met}
                          for r in readings], indent=2))  # fmt: skip
    else:
        table = Table("signal", "before", "with the fault", "target", "")
        for r in readings:
            table.add_row(r.signal.name, _num(r.baseline), _num(r.value),
                          _num(r.signal.target(r.baseline)),
                          "[green]met[/green]" if r.met else "[red]not met[/red]")  # fmt: skip
        Console().print(table)
    if not all(r.met for r in readings):
        console.print(f"lab {lab.number}: not every signal showed; see the table")
        raise typer.Exit(1)
    console.print(f"next: [bold]labctl lab start {lab.number}[/bold] for the trainees")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
