"""``labctl diagnose``: evidence from a live process, ranked findings, each naming a function."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from labctl.commands.output import JsonFlag, Outcome, RunDir, console, echo, emits
from labctl.commands.profile import capture_folder, capture_seconds, lab_patient
from labctl.contract import CAPTURE, RunLayout
from labctl.errors import LabctlError
from labctl.evidence.capture_files import read_baseline_cpu
from labctl.evidence.examination import diagnose
from labctl.evidence.rules import follow_up
from labctl.render.tables import findings_table


@emits
def diagnose_cmd(
    pid: Annotated[
        int | None, typer.Option("--pid", help="a Python process; default: the lab's service")
    ] = None,
    seconds: Annotated[
        float, capture_seconds("evidence window; when memory grows, a heap window as long follows")
    ] = 10.0,
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="a healthy capture saved earlier (a diagnose or profile cpu folder under "
            "run/profiles/): CPU is then judged by the share each function gained against it"
        ),
    ] = None,
    inject: Annotated[
        bool,
        typer.Option(
            "--inject",
            help="a process with no debug surface: measure tasks, GC and loop stalls from "
            "inside it (lldb queues labctl's window with Py_AddPendingCall; it removes itself)",
        ),
    ] = False,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Gather evidence (CPU profile, RSS, heap growth, tasks, GC, loop, fds, /metrics) and
    print ranked findings, each naming a function. Never reads the fault switches. When
    memory grows, a heap window of the same length follows: up to twice --seconds in all."""
    window = CAPTURE.check(seconds)
    baseline_cpu = read_baseline_cpu(baseline) if baseline is not None else None
    patient = lab_patient(run_dir, pid)
    if pid is None:
        if patient is None or patient.pid is None:
            raise LabctlError("the lab's service is not running; give --pid PID or start it "
                              "with: labctl up", 3)  # fmt: skip
        pid = patient.pid
    try:
        with console.status(f"gathering evidence from pid {pid} for {window} s"):
            result = diagnose(pid, window, capture_folder(RunLayout(run_dir), "diagnose"),
                              patient, echo=echo, baseline_cpu=baseline_cpu,
                              inject=inject)  # fmt: skip
    finally:
        if patient is not None:
            patient.close()
    if result.findings:
        top = result.findings[0]
        at = top.location
        next_step = (
            f"open {at.file}:{at.line} and read {at.function}; {follow_up(top.kind)} shows more"
        )
    else:
        next_step = "nothing abnormal in this window; drive load (labctl load start) and " \
            "diagnose again"  # fmt: skip
    if baseline is not None:
        result.notes.append(f"CPU judged against the baseline {baseline}")
    return Outcome(
        json=result.to_json(),
        tables=[findings_table(result)],
        notes=result.notes,
        next=next_step,
    )
