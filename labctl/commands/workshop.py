"""``labctl workshop serve|join|status``: a room's scoreboard, and a trainee's place in it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.markup import escape
from rich.table import Table

from labctl.commands.output import Outcome, RunDir, console, emits
from labctl.contract import RunLayout
from labctl.course.enrolment import Enrolment, join
from labctl.course.scoreboard import ScoreStore, create_app, room_url

app = typer.Typer(help="A workshop's live scoreboard of drills and labs.", no_args_is_help=True)


def report_lines(warning: str | None) -> list[str]:
    """What a drill or lab command says about its report to the workshop (nothing when sent)."""
    return [] if warning is None else [f"[yellow]warning:[/yellow] {escape(warning)}"]


@app.command("serve")
def serve(
    host: Annotated[
        str, typer.Option(help="where to listen; the room's address (or 0.0.0.0) for a class")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8100,
    folder: Annotated[
        Path, typer.Option("--dir", help="the scoreboard's tokens and SQLite store")
    ] = Path("run/scoreboard"),
) -> None:
    """Run the instructor's scoreboard until Ctrl-C; it prints the join command for trainees
    and the board's URL (with the instructor's token) for the projector."""
    store = ScoreStore.open(folder)
    url = room_url(host, port)
    console.print(f"scoreboard on {url} (results in {folder / 'scores.db'})")
    console.print(f"  the board:  {url}/?key={store.tokens.board}")
    console.print(f"  trainees:   labctl workshop join {url} {store.tokens.join} --name NAME")
    console.print(f"$ uvicorn on {host}:{port}")
    try:
        uvicorn.run(create_app(store), host=host, port=port, log_level="warning")
    finally:
        store.close()


@app.command("join")
@emits
def join_cmd(
    url: Annotated[str, typer.Argument(help="the scoreboard's URL, from the instructor")],
    token: Annotated[str, typer.Argument(help="the room's join token")],
    name: Annotated[str, typer.Option(help="how the board shows you")],
    run_dir: RunDir = Path("run"),
) -> Outcome:
    """Report this lab's drills and lab checks to a workshop's scoreboard from now on."""
    console.print(f"$ POST {url.rstrip('/')}/api/join")
    enrolment = join(RunLayout(run_dir), url, token, name)
    return Outcome(
        lines=[f"joined {enrolment.url} as {enrolment.name}; key in {run_dir}/workshop.json"],
        next="[bold]labctl drill start[/bold]: its results go to the board",
    )


@app.command("status")
@emits
def status(run_dir: RunDir = Path("run")) -> Outcome:
    """The workshop this lab reports to, and how many results wait to be sent."""
    enrolment = Enrolment.read(RunLayout(run_dir))
    if enrolment is None:
        return Outcome(lines=["not in a workshop"], next="labctl workshop join URL TOKEN")
    table = Table("scoreboard", "as", "sent", "waiting")
    table.add_row(
        enrolment.url,
        enrolment.name,
        str(enrolment.seq - len(enrolment.outbox)),
        str(len(enrolment.outbox)),
    )
    return Outcome(tables=[table])
