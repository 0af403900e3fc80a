"""``labctl lab list|start|check|gc-tuning|stop|verify``: the graded labs of ``labs/``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from labctl.commands.output import JsonFlag, Outcome, RunDir, console, echo, emits
from labctl.commands.workshop import report_lines
from labctl.contract import RunLayout
from labctl.course.catalogue import Lab, LabError, all_labs, load_lab
from labctl.course.enrolment import report
from labctl.course.gc_tuning import compare_gc_settings
from labctl.course.grading import Verdict, check_answer, check_fix
from labctl.course.lab_runs import current, start_lab, stop_lab, verify_lab
from labctl.evidence.session import Session
from labctl.render import tables
from labctl.stack.supervisor import Stack

app = typer.Typer(help="Graded labs: start a scenario, name the culprit.", no_args_is_help=True)
LabKey = Annotated[str, typer.Argument(help="the lab's number (01) or folder name")]


@app.command("list")
@emits
def list_(as_json: JsonFlag = False) -> Outcome:
    """The labs, by symptom (the cause is what you find out)."""
    labs = all_labs()
    table = Table("lab", "symptom", "alert that pages", "tools that help")
    for lab in labs:
        table.add_row(lab.number, lab.title, lab.alert, "\n".join(lab.tools))
    return Outcome(
        json=[
            {
                "number": lab.number,
                "title": lab.title,
                "alert": lab.alert,
                "folder": str(lab.folder),
            }
            for lab in labs
        ],
        tables=[table],
        next="[bold]labctl lab start 01[/bold]",
    )


@app.command("start")
@emits
def start(key: LabKey, run_dir: RunDir = Path("run")) -> Outcome:
    """Set the scene: load on the service, the lab's world, and something goes wrong."""
    lab = load_lab(key)
    with Session.open(run_dir) as session:
        start_lab(session, lab, echo=echo)
    return Outcome(
        lines=[
            f"lab {lab.number} · {lab.title}: the page is {lab.readme}",
            f"alert to expect: {lab.alert}; dashboard: /d/{lab.dashboard}",
            f"question: {lab.question}",
        ],
        next=f"[bold]labctl diagnose[/bold], then "
        f"[bold]labctl lab check {lab.number} --answer Class.method[/bold]",
    )


@app.command("check")
@emits
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
) -> Outcome:
    """Grade your answer against the service's catalogue, or (--fix) your fix against the
    lab's test. Exit 0 when right, 1 when not."""
    if (answer is None) == (not fix):
        raise LabError("give --answer Class.method, or --fix (not both)", 2)
    lab = load_lab(key)
    if fix:
        return _graded(lab, check_fix(lab, echo=echo), "fix", run_dir)
    with Session.open(run_dir) as session:
        faults = {f.id: f for f in session.patient.faults().catalogue}
    if lab.fault not in faults:
        raise LabError(f"the running service has no fault {lab.fault!r}; is it this lab's?")
    assert answer is not None
    return _graded(lab, check_answer(answer, faults[lab.fault].culprit), "answer", run_dir)


def _graded(lab: Lab, verdict: Verdict, how: str, run_dir: Path) -> Outcome:
    sent = report(
        RunLayout(run_dir),
        {
            "kind": "lab_checked",
            "at": time.time(),
            "lab": lab.number,
            "passed": verdict.correct,
            "how": how,
        },
    )
    return Outcome(
        json={"lab": lab.number, "correct": verdict.correct, "message": verdict.message},
        lines=[
            ("[green]" if verdict.correct else "[yellow]") + escape(verdict.message),
            *report_lines(sent),
        ],
        next=f"read {lab.solution}, then [bold]labctl lab stop[/bold]"
        if verdict.correct
        else "look again, and answer again",
        exit_code=0 if verdict.correct else 1,
    )


@app.command("gc-tuning")
@emits
def gc_tuning(
    seconds: Annotated[float, typer.Option(min=3, max=300, help="each setting's window")] = 15.0,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Lab 05's exercise: default thresholds, raised ones, gc.freeze() and the cycle removed,
    measured side by side in one run (about 4 windows and a minute of set-up)."""
    with Session.open(run_dir) as session:
        trials = compare_gc_settings(
            session, seconds, echo=echo, progress=lambda m: console.print(f"measuring: {m}")
        )
    return Outcome(
        json=[t.to_json() for t in trials],
        tables=[tables.gc_trials_table(trials)],
        next="read labs/05-p99-spikes/solution.md (Tuning), then make the fix: "
        "[bold]labctl lab check 05 --fix[/bold]",
    )


@app.command("stop")
@emits
def stop(run_dir: RunDir = Path("run")) -> Outcome:
    """Put the service back: faults off, mail healed, load stopped."""
    run = stop_lab(Stack(run_dir).status())
    return Outcome(
        lines=[f"lab {run.number} stopped" if run else "no lab was running; all clear"],
        next="[bold]labctl lab list[/bold]",
    )


@app.command("verify")
@emits
def verify(
    key: LabKey,
    run_dir: RunDir = Path("run"),
    timeout: Annotated[float, typer.Option(help="seconds to wait for the signals")] = 120.0,
    as_json: JsonFlag = False,
) -> Outcome:
    """For trainers: rehearse a lab here and show each signal before and with the fault.
    Exit 1 if a signal did not cross its threshold."""
    lab = load_lab(key)
    if current(RunLayout(run_dir)) is not None:
        raise LabError("a lab is running; first: labctl lab stop")
    with Session.open(run_dir) as session:
        readings = verify_lab(session, lab, echo=echo, timeout=timeout)
    table = Table("signal", "before", "with the fault", "target", "")
    for r in readings:
        table.add_row(r.signal.name, _num(r.baseline), _num(r.value),
                      _num(r.signal.target(r.baseline)),
                      "[green]met[/green]" if r.met else "[red]not met[/red]")  # fmt: skip
    body = [{"signal": r.signal.name, "baseline": r.baseline, "value": r.value,
             "target": r.signal.target(r.baseline), "met": r.met} for r in readings]  # fmt: skip
    if not all(r.met for r in readings):
        return Outcome(
            json=body,
            tables=[table],
            failure=f"lab {lab.number}: not every signal showed; see the table",
            exit_code=1,
        )
    return Outcome(
        json=body,
        tables=[table],
        next=f"[bold]labctl lab start {lab.number}[/bold] for the trainees",
    )


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
