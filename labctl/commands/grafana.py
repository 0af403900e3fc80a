"""``labctl grafana push``: the lab's dashboards and datasource on a Grafana you run."""

from __future__ import annotations

from typing import Annotated

import typer

from labctl.commands.output import JsonFlag, Outcome, echo, emits
from labctl.course.grafana_api import FOLDER_TITLE, Grafana, GrafanaError

app = typer.Typer(
    help="Grafana you already run (GRAFANA_URL, GRAFANA_TOKEN).", no_args_is_help=True
)


def _configured() -> Grafana:
    grafana = Grafana.from_env()
    if grafana is None:
        raise GrafanaError("GRAFANA_URL is not set: export GRAFANA_URL=https://grafana.example "
                           "and GRAFANA_TOKEN=<service-account token>", 2)  # fmt: skip
    return grafana


@app.command("push")
@emits
def push(
    prometheus_url: Annotated[
        str,
        typer.Option(help="the Prometheus URL as Grafana's server reaches it (not as you do)"),
    ] = "http://prometheus:9090",
    as_json: JsonFlag = False,
) -> Outcome:
    """Create or update the datasource (uid lab-prometheus), a folder, and every dashboard."""
    grafana = _configured()
    echo(f"grafana-client -> {grafana.url}: datasource, folder {FOLDER_TITLE!r}, dashboards")
    report = grafana.push(prometheus_url)
    return Outcome(
        json=report.to_json(),
        lines=[
            f"datasource {report.datasource}; {len(report.dashboards)} dashboards:",
            *(f"  {url}" for url in report.dashboards),
        ],
        next="labctl fault on ID marks the switch on these dashboards",
    )


def annotate_switch(text: str, tags: list[str]) -> list[str]:
    """Mark a fault switch on the configured Grafana; what to say about it. A warning, never
    a failure, if it cannot (the switch itself has happened)."""
    try:
        grafana = Grafana.from_env()
        if grafana is None:
            return []
        grafana.annotate(text, tags)
    except GrafanaError as exc:
        return [f"[yellow]warning:[/yellow] no Grafana annotation: {exc}"]
    return [f"annotated on {grafana.url}"]
