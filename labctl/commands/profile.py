"""``labctl profile cpu|heap|scalene|tasks|gc|loop|objects``: profilers attached to a live
process, and the lab service's debug views."""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from labctl.commands.output import JsonFlag, Outcome, RunDir, console, echo, emits
from labctl.contract import CAPTURE, RunLayout
from labctl.errors import LabctlError
from labctl.evidence.capture_files import kind_of, read_capture, save_view
from labctl.evidence.patient import Patient, PatientError
from labctl.evidence.probes.heap import record_heap
from labctl.evidence.probes.injection import inject_window
from labctl.evidence.probes.pyspy import record_cpu
from labctl.evidence.probes.scalene import run_scalene
from labctl.evidence.probes.target import Target
from labctl.records.call_stacks import Stacks
from labctl.records.captures import HeapReport
from labctl.records.comparisons import cpu_diff, heap_diff
from labctl.records.debug_views import GcWindow, InjectedWindow, gc_windows
from labctl.render import tables
from labctl.render.flamegraph import render_svg

app = typer.Typer(help="Attach profilers to a live process.", no_args_is_help=True)
PidOption = Annotated[int | None, typer.Option("--pid", help="a running Python process")]


def capture_seconds(help: str) -> Any:
    """``--seconds`` of a capture: the contract's window, so every capture takes the same."""
    return typer.Option("--seconds", min=CAPTURE.min_seconds, max=CAPTURE.max_seconds, help=help)


SecondsOption = Annotated[
    float,
    capture_seconds("capture length; a command is stopped with its children when it ends"),
]
CommandArg = Annotated[
    list[str] | None, typer.Argument(help="or a command to run under the profiler, after --")
]
T = TypeVar("T")


class CaptureFormat(enum.StrEnum):
    NATIVE = "native"
    PPROF = "pprof"


FormatOption = Annotated[
    CaptureFormat,
    typer.Option(
        "--format",
        help="pprof: also write the capture as gzipped pprof (profile.proto), for go tool "
        "pprof, Pyroscope or Grafana; native: the profiler's own files only",
    ),
]


def capture_folder(layout: RunLayout, kind: str) -> Path:
    """A new folder for one capture's artefacts: run/profiles/<time>-<kind>, with a number
    after it when another capture of that kind started in the same second."""
    stem = f"{datetime.now():%Y%m%d-%H%M%S}-{kind}"
    folder, n = layout.profiles / stem, 1
    while folder.exists():
        n += 1
        folder = layout.profiles / f"{stem}-{n}"
    return folder


def lab_patient(run_dir: Path, pid: int | None = None) -> Patient | None:
    """The lab's service when it runs and, given ``pid``, when that process is it: the one
    whose debug surface a capture may use. Profiling commands work without it."""
    try:
        patient = Patient.from_run_dir(run_dir)
    except PatientError:
        return None
    if pid is not None and patient.pid != pid:
        patient.close()
        return None
    return patient


@app.command("cpu")
@emits
def profile_cpu(
    pid: PidOption = None,
    seconds: SecondsOption = 10.0,
    rate: Annotated[int, typer.Option(min=1, max=1000, help="samples a second")] = 100,
    idle: Annotated[bool, typer.Option(help="include threads that wait")] = False,
    callers: Annotated[
        str | None,
        typer.Option(help="also show who calls this function (qualified name), like pprof -peek"),
    ] = None,
    capture_format: FormatOption = CaptureFormat.NATIVE,
    command: CommandArg = None,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """py-spy record: flamegraph SVG, speedscope JSON, and functions by self and total share."""
    window = CAPTURE.check(seconds)
    target = Target(pid=pid, command=tuple(command or ()))
    out = capture_folder(RunLayout(run_dir), "cpu")
    with console.status(f"sampling {target.describe()} for {window} s"):
        profile = record_cpu(target, window, out, rate, idle=idle, echo=echo,
                             pprof=capture_format is CaptureFormat.PPROF)  # fmt: skip
    peek = profile.stacks().callers(callers) if callers else []
    body = profile.to_json()
    if callers:
        body["callers"] = [c.to_json() for c in peek]
    return Outcome(
        json=body,
        tables=[
            tables.cpu_table(profile),
            *([tables.processes_table(profile)] if profile.busiest else []),
            *([tables.callers_table(callers, peek)] if callers else []),
        ],
        notes=profile.notes,
        artefacts=profile.artefacts,
        next=f"open {profile.artefacts['flamegraph']} in a browser, or drop the speedscope file "
        "on https://www.speedscope.app",
    )


@app.command("scalene")
@emits
def profile_scalene(
    seconds: Annotated[
        float, capture_seconds("run the script this long at most, then stop it and report")
    ] = 10.0,
    command: CommandArg = None,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Scalene: run a Python script and rank its lines by CPU (Python vs native) and memory."""
    window = CAPTURE.check(seconds)
    out = capture_folder(RunLayout(run_dir), "scalene")
    with console.status(f"running {' '.join(command or ())} under scalene for {window} s at most"):
        profile = run_scalene(tuple(command or ()), out, echo=echo, seconds=window)
    return Outcome(
        json=profile.to_json(),
        tables=[tables.scalene_cpu_table(profile), tables.scalene_memory_table(profile)],
        notes=profile.notes,
        next=f"scalene view {profile.artefacts['profile']}  (the full line-by-line report in "
        "a browser)",
    )


@app.command("heap")
@emits
def profile_heap(
    pid: PidOption = None,
    seconds: SecondsOption = 10.0,
    command: CommandArg = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="rows in the report")] = 15,
    attach: Annotated[
        bool,
        typer.Option(
            help="use memray attach on the lab's own service too (default: its "
            "tracemalloc window; attach once segfaulted it)"
        ),
    ] = False,
    capture_format: FormatOption = CaptureFormat.NATIVE,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Heap growth: memory allocated during the window and still alive at its end, by
    allocation site (memray attach for a PID, memray run for a command; the lab's own
    service uses its debug surface's tracemalloc window unless --attach)."""
    window = CAPTURE.check(seconds)
    patient = lab_patient(run_dir, pid) if pid is not None else None
    try:
        fallback = None
        if patient is not None:
            if not attach:
                patient.check_heap_window(window, instead=", or --attach")
            fallback = patient.heap_fallback(echo, limit)
        target = Target(pid=pid, command=tuple(command or ()))
        out = capture_folder(RunLayout(run_dir), "heap")
        with console.status(f"tracking allocations of {target.describe()} for {window} s"):
            report = record_heap(target, window, out, limit=limit, fallback=fallback,
                                 attach=attach, echo=echo,
                                 pprof=capture_format is CaptureFormat.PPROF)  # fmt: skip
    finally:
        if patient is not None:
            patient.close()
    return Outcome(
        json=report.to_json(),
        tables=[
            tables.heap_table(report),
            *([tables.heap_processes_table(report)] if report.processes else []),
        ],
        notes=report.notes,
        artefacts=report.artefacts,
        next="open the flamegraph HTML, or run it again to see whether the top site keeps growing",
    )


@app.command("diff")
@emits
def profile_diff(
    base: Annotated[
        Path,
        typer.Argument(
            help="the baseline capture: a run/profiles folder or its speedscope JSON or growth.json"
        ),
    ],
    new: Annotated[Path, typer.Argument(help="the capture to compare with it, of the same kind")],
    limit: Annotated[int, typer.Option(min=1, max=200, help="rows in the report")] = 15,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """What changed between two saved captures (pprof -base): CPU by share of each capture's
    own samples, with a differential flamegraph; heap by bytes kept a second, by site."""
    before, after = read_capture(base), read_capture(new)
    echo(f"compare {base} (base) with {new}")
    out = capture_folder(RunLayout(run_dir), "diff")
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(before, Stacks) and isinstance(after, Stacks):
        cpu = cpu_diff(before, after, limit)
        svg = out / "diff-flamegraph.svg"
        svg.write_text(render_svg(after, f"CPU: {new} against {base}", base=before))
        artefacts = {"flamegraph": str(svg)}
        body, table, notes = cpu.to_json(), tables.cpu_diff_table(cpu), []
        next_step = f"open {svg}: red grew, blue shrank, as shares of each capture's samples"
    elif isinstance(before, HeapReport) and isinstance(after, HeapReport):
        heap = heap_diff(before, after, limit)
        artefacts = {}
        body, table, notes = heap.to_json(), tables.heap_diff_table(heap), heap.notes
        next_step = "the top site kept more a second in the new capture: read its code first"
    else:
        kinds = " and ".join(kind_of(c) for c in (before, after))
        raise LabctlError(
            f"{base} and {new} are {kinds} captures: compare two CPU or two heap captures", 2
        )
    (out / "diff.json").write_text(json.dumps(body, indent=2))
    artefacts["diff"] = str(out / "diff.json")
    return Outcome(json={**body, "artefacts": artefacts}, tables=[table], notes=notes,
                   artefacts=artefacts, next=next_step)  # fmt: skip


def _read_view(run_dir: Path, what: str, read: Callable[[Patient], T]) -> T:
    """One debug view read: echo it, close the client."""
    with Patient.from_run_dir(run_dir) as patient:
        echo(f"GET {what}")
        return read(patient)


InjectOption = Annotated[
    bool,
    typer.Option(
        "--inject",
        help="with --pid of a process with no debug surface: run labctl's window inside it "
        "(lldb queues it with Py_AddPendingCall; it removes itself when the window ends)",
    ),
]


InjectSeconds = Annotated[float, capture_seconds("with --inject: the window's length")]


def _injected(pid: int | None, seconds: float, run_dir: Path, kind: str) -> InjectedWindow:
    """The window run inside ``pid``, with the refusals of a wrong call."""
    if pid is None:
        raise LabctlError("--inject needs --pid PID: the process to run the window in", 2)
    with console.status(f"window of {seconds:g} s inside pid {pid}"):
        return inject_window(pid, CAPTURE.check(seconds), capture_folder(RunLayout(run_dir), kind),
                             echo=echo)  # fmt: skip


def _needs_inject(pid: int | None, inject: bool) -> None:
    if pid is not None and not inject:
        raise LabctlError(
            "--pid reads a process with no debug surface only from inside it: add --inject "
            "(see --help), or leave --pid out for the lab's service",
            2,
        )


def _window_notes(window: InjectedWindow) -> list[str]:
    took = ", ".join(f"{s * 1000:.0f} ms" for s in window.census_seconds)
    return [
        *window.notes,
        f"injected with {window.injected_with} in {window.attach_seconds:.1f} s; each task "
        f"census held pid {window.pid}'s main thread for {took}; the window left "
        f"{window.leftovers['threads']} thread(s) running",
    ]


@app.command("tasks")
@emits
def profile_tasks(
    pid: PidOption = None,
    inject: InjectOption = False,
    seconds: InjectSeconds = 5.0,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """The service's asyncio tasks grouped by creation site, most first. With --pid PID
    --inject, any asyncio process's tasks grouped by the coroutine and line where each is
    suspended, counted at the start and the end of a window."""
    _needs_inject(pid, inject)
    if inject:
        window = _injected(pid, seconds, run_dir, "tasks")
        before, after = window.tasks
        return Outcome(
            json=window.to_json(),
            tables=[tables.task_window_table(before, after, window.seconds)],
            notes=_window_notes(window),
            artefacts=window.artefacts,
            next="a place that gained tasks in the window and keeps them is leaking; read the "
            "code that creates that coroutine's tasks",
        )
    census = _read_view(run_dir, "/debug/tasks?group=site", lambda p: p.tasks())
    saved = save_view(capture_folder(RunLayout(run_dir), "tasks"), census)
    return Outcome(
        json=asdict(census),
        tables=[tables.tasks_table(census)],
        artefacts={"census": str(saved)},
        next="a site whose count keeps rising between runs is leaking tasks; "
        "labctl profile tasks again in a minute",
    )


def _parse_threshold(text: str) -> tuple[int, int, int]:
    try:
        gen0, gen1, gen2 = (int(part) for part in text.split(","))
    except ValueError:
        raise typer.BadParameter("give three integers: --threshold 700,10,10") from None
    return gen0, gen1, gen2


@app.command("gc")
@emits
def profile_gc(
    threshold: Annotated[
        str | None, typer.Option(help="apply gen0,gen1,gen2 thresholds live, e.g. 50000,20,20")
    ] = None,
    freeze: Annotated[bool, typer.Option(help="gc.freeze() the current heap live")] = False,
    seconds: Annotated[float, capture_seconds("window before and after the change")] = 10.0,
    pid: PidOption = None,
    inject: InjectOption = False,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """GC pauses per generation and who was allocating when slow collections started.
    With --threshold or --freeze: pause p99 over a window before and after the change.
    With --pid PID --inject: any Python process's collections over a --seconds window."""
    _needs_inject(pid, inject)
    if inject:
        if threshold or freeze:
            raise LabctlError(
                "--threshold and --freeze change the lab service's collector through its "
                "debug surface; with --inject labctl only watches",
                2,
            )
        injected = _injected(pid, seconds, run_dir, "gc")
        before, after = injected.gc
        in_window = gc_windows([("window", before, after)])
        return Outcome(
            json=injected.to_json(),
            tables=[
                tables.gc_windows_table(in_window),
                tables.gc_table(after),
                tables.gc_triggers_table(after),
            ],
            notes=_window_notes(injected),
            artefacts=injected.artefacts,
            next="a function that allocates when full collections start builds what they "
            "traverse; gc.freeze() after start-up or a higher gen0 threshold are the levers",
        )
    wanted = _parse_threshold(threshold) if threshold else None
    window = CAPTURE.check(seconds)
    windows: list[GcWindow] = []
    with Patient.from_run_dir(run_dir) as patient:
        echo("GET /debug/gc")
        report = patient.gc()
        if wanted or freeze:
            with console.status(f"measuring {window} s with the current settings"):
                time.sleep(window)
            end_before = patient.gc()
            if wanted:
                echo(f"PUT /debug/gc/threshold?gen0={wanted[0]}&gen1={wanted[1]}&gen2={wanted[2]}")
                patient.set_gc_threshold(*wanted)
            if freeze:
                echo("POST /debug/gc/freeze")
                patient.gc_freeze()
            start_after = patient.gc()  # the change itself (a freeze) is in neither window
            with console.status(f"measuring {window} s with the new settings"):
                time.sleep(window)
            after = patient.gc()
            windows = gc_windows([("before", report, end_before), ("after", start_after, after)])
            report = after
    return Outcome(
        json={"report": asdict(report), "windows": [asdict(w) for w in windows]},
        tables=[
            *([tables.gc_windows_table(windows)] if windows else []),
            tables.gc_table(report),
            tables.gc_triggers_table(report),
        ],
        next="labctl profile gc --threshold 50000,20,20 (or --freeze) compares pause p99 before "
        "and after",
    )


@app.command("loop")
@emits
def profile_loop(
    pid: PidOption = None,
    inject: InjectOption = False,
    seconds: InjectSeconds = 5.0,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Event-loop lag and the calls that blocked the loop, with their location. With --pid
    PID --inject: any asyncio process's loop, over a --seconds window."""
    _needs_inject(pid, inject)
    if inject:
        injected = _injected(pid, seconds, run_dir, "loop")
        if injected.loop is None:
            raise LabctlError(f"pid {pid} runs no asyncio event loop in its main thread: "
                              "there is no loop lag to time", 4)  # fmt: skip
        report = injected.loop[1]
        body, notes, artefacts = injected.to_json(), _window_notes(injected), injected.artefacts
    else:
        report = _read_view(run_dir, "/debug/loop", lambda p: p.loop())
        saved = save_view(capture_folder(RunLayout(run_dir), "loop"), report)
        body, notes, artefacts = asdict(report), [], {"stalls": str(saved)}
    return Outcome(
        json=body,
        tables=[tables.loop_table(report)],
        notes=notes,
        artefacts=artefacts,
        next="the location of the longest stalls is the synchronous call to move off the loop "
        "(asyncio.to_thread)",
    )


@app.command("objects")
@emits
def profile_objects(
    limit: Annotated[int, typer.Option(min=1, max=200)] = 15,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Most common object types and how each grew since the previous call (objgraph)."""
    census = _read_view(
        run_dir, "/debug/objects and /debug/objects/growth", lambda p: p.objects(limit)
    )
    return Outcome(
        json=census.to_json(),
        tables=[tables.objects_table(census)],
        next="for a type that keeps growing, GET /debug/objects/backrefs?type=NAME shows what "
        "holds it",
    )
