"""``labctl top``: a live view of the lab's service from its /metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from labctl.commands.common import JsonFlag, RunDir, console, fail
from labctl.errors import LabctlError
from labctl.patient import Patient
from labctl.render.top import vitals_table
from labctl.top import watch


def top(
    interval: Annotated[
        float, typer.Option("--interval", min=0.5, max=60, help="seconds between scrapes")
    ] = 2.0,
    frames: Annotated[
        int | None, typer.Option("--frames", min=1, help="stop after N screens (default: Ctrl-C)")
    ] = None,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> None:
    """Requests/s, p50/p99, errors, CPU, RSS, tasks, loop lag, GC, caches, fds, faults."""
    try:
        patient = Patient.from_run_dir(run_dir)
        console.print(f"[dim]$ GET {patient.metrics_url} every {interval:g} s[/dim]")
        if as_json:
            for vitals in watch(patient, interval, frames):
                print(json.dumps(vitals.to_json()), flush=True)
            return
        with Live(console=Console(), auto_refresh=False) as live:
            live.update(f"first scrape; the view fills in {interval:g} s", refresh=True)
            for vitals in watch(patient, interval, frames):
                live.update(vitals_table(vitals, f"leaky-app pid {patient.pid}"), refresh=True)
    except LabctlError as exc:
        fail(exc)
    except KeyboardInterrupt:
        pass
    console.print("next: labctl diagnose   (names the culprit behind what top shows)")
