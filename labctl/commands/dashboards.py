"""``labctl dashboards build``: the Grafana dashboards of the catalogue, as JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from labctl.commands.output import Outcome, emits
from labctl.course import dashboard_catalogue as catalogue

app = typer.Typer(help="Grafana dashboards as code.", no_args_is_help=True)


@app.command("build")
@emits
def dashboards_build(
    check: Annotated[
        bool, typer.Option(help="exit 1 if the committed JSON differs from a fresh build")
    ] = False,
) -> Outcome:
    """Build every dashboard of the catalogue (labctl/course/dashboard_catalogue.py) into JSON."""
    stale = [
        spec.filename
        for spec in catalogue.DASHBOARDS
        if not (catalogue.OUT_DIR / spec.filename).exists()
        or (catalogue.OUT_DIR / spec.filename).read_text() != catalogue.render(spec)
    ]
    if check:
        if stale:
            return Outcome(
                failure=f"stale: {', '.join(stale)}; run: labctl dashboards build", exit_code=1
            )
        return Outcome(lines=[f"{len(catalogue.DASHBOARDS)} dashboards match the catalogue"])
    return Outcome(
        lines=[f"  wrote {path}" for path in catalogue.write_all()],
        next="docker compose up grafana, or labctl grafana push to an existing one",
    )
