"""``labctl drill start|hint|answer|reveal``: an incident drill with a hidden fault."""

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
from labctl.course.incidents import (
    DrillRun,
    answer_drill,
    hint_drill,
    reveal_drill,
    start_drill,
)
from labctl.course.postmortem import write_postmortem
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


@app.command("hint")
@emits
def hint(run_dir: RunDir = Path("run")) -> Outcome:
    """The next hint: the symptom, then the tool, then the area of the code. Each costs
    points (10, 20, 30 of the drill's 100)."""
    drill = DrillRun.read(RunLayout(run_dir))
    with Session.open(run_dir) as session:
        name, text, cost = hint_drill(session)
    level = len(drill.hints) + 1
    sent = report(
        RunLayout(run_dir),
        {"kind": "hint", "drill": drill.started_at, "at": time.time(), "level": level},
    )
    return Outcome(
        lines=[f"hint ({name}, -{cost} points): {text}", *report_lines(sent)],
        next="[bold]labctl drill answer Class.method --evidence run/profiles/<folder>[/bold]",
    )


@app.command("answer")
@emits
def answer(
    culprit: Annotated[str, typer.Argument(help="the function you name, e.g. Class.method")],
    evidence: Annotated[
        Path | None,
        typer.Option(help="the capture that shows it: a run/profiles folder made in the drill"),
    ] = None,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Grade your answer and its evidence; the time is recorded. Exit 0 when both are right,
    1 when not."""
    drill = DrillRun.read(RunLayout(run_dir))  # "no drill is running" comes first
    with Session.open(run_dir) as session:
        verdict, graded = answer_drill(session, culprit, evidence)
    sent = report(
        RunLayout(run_dir),
        {
            "kind": "answer",
            "drill": drill.started_at,
            "at": graded.answers[-1].at,
            "correct": verdict.correct,
            "score": graded.score if verdict.correct else None,
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
    postmortem = write_postmortem(RunLayout(run_dir), result)
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
    score = "not solved" if result.score is None else f"score {result.score}/100"
    return Outcome(
        json={**result.to_json(), "postmortem": str(postmortem)},
        tables=[timeline],
        artefacts={"postmortem": str(postmortem)},
        lines=[
            f"culprit: [bold]{result.culprit}[/bold]; the page: {result.lab.alert}; {score}",
            *(
                f"  evidence: {name}: {'-' if value is None else f'{value:.4g}'}"
                for name, value in result.evidence
            ),
            f"  tools: {', '.join(result.lab.tools)}",
            *report_lines(sent),
        ],
        next=f"read the postmortem {postmortem}, then {result.lab.solution}",
    )
