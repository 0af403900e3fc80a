"""``labctl drill start|answer|reveal``: an incident drill with a hidden fault."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from labctl.commands.output import JsonFlag, Outcome, RunDir, echo, emits
from labctl.commands.workshop import report_lines
from labctl.contract import RunLayout
from labctl.course.enrolment import report
from labctl.course.incidents import DrillRun, answer_drill, reveal_drill, start_drill
from labctl.evidence.session import Session

app = typer.Typer(help="Incident drills: a hidden fault, a clock, a grade.", no_args_is_help=True)


@app.command("start")
@emits
def start(
    seed: Annotated[
        int | None, typer.Option(min=0, help="the same seed gives the same incident")
    ] = None,
    run_dir: RunDir = Path("run"),
) -> Outcome:
    """Set up a random incident and hide which fault it is. The clock starts now."""
    with Session.open(run_dir) as session:
        drill = start_drill(session, seed, echo=echo)
    at = datetime.fromtimestamp(drill.started_at)
    sent = report(
        RunLayout(run_dir),
        {"kind": "drill_started", "drill": drill.started_at, "at": drill.started_at},
    )
    return Outcome(
        lines=[
            f"drill {drill.seed} started at {at:%H:%M:%S}: something is wrong with the "
            "service. Nobody knows what yet.",
            *report_lines(sent),
        ],
        next="watch the alerts and dashboards, use the tools, then "
        "[bold]labctl drill answer Class.method[/bold]",
    )


@app.command("answer")
@emits
def answer(
    culprit: Annotated[str, typer.Argument(help="the function you name, e.g. Class.method")],
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Grade your answer; the time is recorded. Exit 0 when right, 1 when not."""
    drill = DrillRun.read(RunLayout(run_dir))  # "no drill is running" comes first
    with Session.open(run_dir) as session:
        verdict = answer_drill(session, culprit)
    sent = report(
        RunLayout(run_dir),
        {
            "kind": "answer",
            "drill": drill.started_at,
            "at": time.time(),
            "correct": verdict.correct,
        },
    )
    return Outcome(
        json={"correct": verdict.correct, "message": verdict.message},
        lines=[
            ("[green]" if verdict.correct else "[yellow]") + verdict.message,
            *report_lines(sent),
        ],
        next="[bold]labctl drill reveal[/bold] (the timeline)"
        if verdict.correct
        else "look again, and answer again",
        exit_code=0 if verdict.correct else 1,
    )


@app.command("reveal")
@emits
def reveal(run_dir: RunDir = Path("run"), as_json: JsonFlag = False) -> Outcome:
    """End the drill (fault off, load stopped) and print the timeline and the evidence."""
    drill = DrillRun.read(RunLayout(run_dir))
    with Session.open(run_dir) as session:
        result = reveal_drill(session)
    sent = report(
        RunLayout(run_dir),
        {
            "kind": "revealed",
            "drill": drill.started_at,
            "at": result.timeline[-1].at,
            "lab": result.lab.number,
            "fault": result.lab.fault,
        },
    )
    start = result.timeline[0].at
    timeline = Table("at", "+s", "what", title=f"drill: lab {result.lab.number}, "
                     f"{result.lab.title}")  # fmt: skip
    for event in result.timeline:
        timeline.add_row(f"{datetime.fromtimestamp(event.at):%H:%M:%S}",
                         f"{event.at - start:.0f}", event.what)  # fmt: skip
    return Outcome(
        json=result.to_json(),
        tables=[timeline],
        lines=[
            f"culprit: [bold]{result.culprit}[/bold]; the page: {result.lab.alert}",
            *(
                f"  evidence: {name}: {'-' if value is None else f'{value:.4g}'}"
                for name, value in result.evidence
            ),
            f"  tools: {', '.join(result.lab.tools)}",
            *report_lines(sent),
        ],
        next=f"read {result.lab.solution}",
    )
