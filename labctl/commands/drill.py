"""``labctl drill start|answer|reveal``: an incident drill with a hidden fault."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from labctl.commands.common import JsonFlag, RunDir, console, echo, fail
from labctl.drills import answer_drill, reveal_drill, start_drill
from labctl.errors import LabctlError

app = typer.Typer(help="Incident drills: a hidden fault, a clock, a grade.", no_args_is_help=True)


@app.command("start")
def start(
    seed: Annotated[
        int | None, typer.Option(min=0, help="the same seed gives the same incident")
    ] = None,
    run_dir: RunDir = Path("run"),
) -> None:
    """Set up a random incident and hide which fault it is. The clock starts now."""
    try:
        drill = start_drill(run_dir, seed, echo=echo)
    except LabctlError as exc:
        fail(exc)
    at = datetime.fromtimestamp(drill.started_at)
    console.print(f"drill {drill.seed} started at {at:%H:%M:%S}: something is wrong with the "
                  "service. Nobody knows what yet.")  # fmt: skip
    console.print("next: watch the alerts and dashboards, use the tools, then "
                  "[bold]labctl drill answer Class.method[/bold]")  # fmt: skip


@app.command("answer")
def answer(
    culprit: Annotated[str, typer.Argument(help="the function you name, e.g. Class.method")],
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> None:
    """Grade your answer; the time is recorded. Exit 0 when right, 1 when not."""
    try:
        verdict = answer_drill(run_dir, culprit)
    except LabctlError as exc:
        fail(exc)
    if as_json:
        print(json.dumps({"correct": verdict.correct, "message": verdict.message}))
    else:
        console.print(("[green]" if verdict.correct else "[yellow]") + verdict.message)
        console.print("next: [bold]labctl drill reveal[/bold] (the timeline)" if verdict.correct
                      else "next: look again, and answer again")  # fmt: skip
    if not verdict.correct:
        raise typer.Exit(1)


@app.command("reveal")
def reveal(run_dir: RunDir = Path("run"), as_json: JsonFlag = False) -> None:
    """End the drill (fault off, load stopped) and print the timeline and the evidence."""
    try:
        result = reveal_drill(run_dir)
    except LabctlError as exc:
        fail(exc)
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        return
    start = result.timeline[0].at
    timeline = Table("at", "+s", "what", title=f"drill: lab {result.lab.number}, "
                     f"{result.lab.title}")  # fmt: skip
    for event in result.timeline:
        timeline.add_row(f"{datetime.fromtimestamp(event.at):%H:%M:%S}",
                         f"{event.at - start:.0f}", event.what)  # fmt: skip
    console.print(timeline)
    console.print(f"culprit: [bold]{result.culprit}[/bold]; the page: {result.lab.alert}")
    for name, value in result.evidence:
        console.print(f"  evidence: {name}: {'-' if value is None else f'{value:.4g}'}")
    console.print(f"  tools: {', '.join(result.lab.tools)}")
    console.print(f"next: read {result.lab.solution}")
