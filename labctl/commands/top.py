"""``labctl top``: a live view of the lab's service from its /metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live

from labctl.commands.output import JsonFlag, Outcome, RunDir, console, emits, stdout
from labctl.evidence.patient import Patient, watch
from labctl.render.top_screen import vitals_table


@emits
def top(
    interval: Annotated[
        float, typer.Option("--interval", min=0.5, max=60, help="seconds between scrapes")
    ] = 2.0,
    frames: Annotated[
        int | None, typer.Option("--frames", min=1, help="stop after N screens (default: Ctrl-C)")
    ] = None,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Requests/s, p50/p99, errors, CPU, RSS, tasks, loop lag, GC, caches, fds, faults."""
    # A stream, not one result: each screen (or JSON line) is shown as it is measured.
    try:
        with Patient.from_run_dir(run_dir) as patient:
            console.print(f"[dim]$ GET {patient.metrics_url} every {interval:g} s[/dim]")
            if as_json:
                for vitals in watch(patient, interval, frames):
                    print(json.dumps(vitals.to_json()), flush=True)
            else:
                with Live(console=stdout, auto_refresh=False) as live:
                    live.update(f"first scrape; the view fills in {interval:g} s", refresh=True)
                    for vitals in watch(patient, interval, frames):
                        screen = vitals_table(vitals, f"leaky-app pid {patient.pid}")
                        live.update(screen, refresh=True)
    except KeyboardInterrupt:
        pass
    return Outcome(next="labctl diagnose   (names the culprit behind what top shows)")
