"""``labctl grafana push``: the lab's dashboards and datasource on a Grafana you run."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from labctl.commands.common import JsonFlag, console, echo, fail
from labctl.grafana import FOLDER_TITLE, Grafana, GrafanaError

app = typer.Typer(
    help="Grafana you already run (GRAFANA_URL, GRAFANA_TOKEN).", no_args_is_help=True
)


def _configured() -> Grafana:
    try:
        grafana = Grafana.from_env()
    except GrafanaError as exc:
        fail(exc)
    if grafana is None:
        fail(GrafanaError("GRAFANA_URL is not set: export GRAFANA_URL=https://grafana.example "
                          "and GRAFANA_TOKEN=<service-account token>", 2))  # fmt: skip
    return grafana


@app.command("push")
def push(
    prometheus_url: Annotated[
        str,
        typer.Option(help="the Prometheus URL as Grafana's server reaches it (not as you do)"),
    ] = "http://prometheus:9090",
    as_json: JsonFlag = False,
) -> None:
    """Create or update the datasource (uid lab-prometheus), a folder, and every dashboard."""
    grafana = _configured()
    echo(f"grafana-client -> {grafana.url}: datasource, folder {FOLDER_TITLE!r}, dashboards")
    try:
        report = grafana.push(prometheus_url)
    except GrafanaError as exc:
        fail(exc)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    console.print(f"datasource {report.datasource}; {len(report.dashboards)} dashboards:")
    for url in report.dashboards:
        console.print(f"  {url}")
    console.print("next: labctl fault on ID marks the switch on these dashboards")


def annotate_switch(text: str, tags: list[str]) -> None:
    """Mark a fault switch on the configured Grafana; a warning, never a failure, if it
    cannot (the switch itself has happened)."""
    try:
        grafana = Grafana.from_env()
        if grafana is not None:
            grafana.annotate(text, tags)
            console.print(f"annotated on {grafana.url}")
    except GrafanaError as exc:
        console.print(f"[yellow]warning:[/yellow] no Grafana annotation: {exc}")
