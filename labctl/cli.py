"""``labctl``: the lab's command line. ``labctl --help`` lists the commands.

Each command echoes what it runs, and ends by printing the next command to type.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from labctl import smtp_sink
from labctl.commands import drill as drill_commands
from labctl.commands import grafana as grafana_commands
from labctl.commands import lab as lab_commands
from labctl.commands import load as load_commands
from labctl.commands import top as top_commands
from labctl.commands.common import JsonFlag, RunDir, console
from labctl.commands.common import echo as _echo
from labctl.commands.common import fail as _fail
from labctl.diagnose import diagnose
from labctl.patient import FaultBoard, Patient, PatientError
from labctl.preflight import run_checks
from labctl.probes.heap import HeapReport, record_heap
from labctl.probes.pyspy import record_cpu
from labctl.probes.scalene import run_scalene
from labctl.probes.target import ProbeError, Target
from labctl.processes import ProcessError
from labctl.redis_server import RedisMissing
from labctl.render import tables
from labctl.smtp_sink import Mailbox
from labctl.stack import Stack, sink_dir
from labctl.views import GcWindow, gc_windows

app = typer.Typer(
    name="labctl",
    help="Run the Python diagnostics lab: start the patient, drive it, profile it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def preflight(as_json: JsonFlag = False) -> None:
    """Check what the lab needs here (ptrace, gdb, profilers, prometheus, ports) and say how
    to fix each gap. Exit 1 when something required is missing."""
    checks = run_checks()
    if as_json:
        print(json.dumps([c.to_json() for c in checks], indent=2))
    else:
        table = Table("check", "", "detail", "fix")
        for c in checks:
            mark = "[green]ok[/green]" if c.ok else ("[red]missing[/red]" if c.required
                                                     else "[yellow]optional[/yellow]")  # fmt: skip
            table.add_row(c.name, mark, c.detail, c.fix)
        Console().print(table)
    gaps = [c for c in checks if c.required and not c.ok]
    if gaps:
        console.print(f"{len(gaps)} required check(s) failed; fix them, then: labctl preflight")
        raise typer.Exit(1)
    console.print("next: [bold]make up[/bold]")


@app.command()
def up(
    run_dir: RunDir = Path("run"),
    redis: Annotated[
        bool,
        typer.Option(
            "--redis",
            help="also start redis-server and give the service REDIS_URL: one rate limit and "
            "one scheduler leader across instances, as in docker compose",
        ),
    ] = False,
) -> None:
    """Start the local stack (idempotent) and print its URLs."""
    stack = Stack(run_dir)
    try:
        status = stack.up(progress=_echo, redis=redis)
    except RedisMissing as exc:
        _fail(exc)
    except ProcessError as exc:
        console.print(f"[red]labctl up failed:[/red] {exc}")
        raise typer.Exit(1) from None
    for name, url in status.urls.items():
        console.print(f"  {name:<20} {url}")
    console.print(f"debug token in {run_dir}/debug.token (mode 0600), logs in {run_dir}/logs")
    console.print("next: [bold]labctl status[/bold], or [bold]make down[/bold] to stop")


@app.command()
def down(run_dir: RunDir = Path("run")) -> None:
    """Stop what ``labctl up`` started, by PID."""
    stopped = Stack(run_dir).down(progress=console.print)
    if not stopped:
        console.print("nothing was running")
    console.print("next: [bold]make up[/bold] to start again")


@app.command()
def status(run_dir: RunDir = Path("run"), as_json: JsonFlag = False) -> None:
    """Show which lab processes run, with PIDs and URLs."""
    st = Stack(run_dir).status()
    if as_json:
        print(json.dumps({name: rec.to_json() for name, rec in st.running.items()}, indent=2))
        return
    table = Table("process", "pid", "urls")
    for name, rec in st.running.items():
        table.add_row(name, str(rec.pid), "\n".join(rec.urls.values()))
    for name in st.stale:
        table.add_row(name, "-", "[yellow]not running (stale record)[/yellow]")
    Console().print(table)
    if not st.running:
        console.print("next: [bold]labctl up[/bold]")


fault_app = typer.Typer(help="List planted faults and switch them on or off.", no_args_is_help=True)
app.add_typer(fault_app, name="fault")


def _patient(run_dir: Path) -> Patient:
    try:
        return Patient.from_run_dir(run_dir)
    except PatientError as exc:
        _fail(exc)


def _show_board(board: FaultBoard, as_json: bool) -> None:
    """In a drill, what is on stays hidden: finding it is the exercise."""
    if as_json:
        rows = [{**asdict(f), "active": "hidden" if board.drill else f.active}
                for f in board.catalogue]  # fmt: skip
        print(json.dumps(rows, indent=2))
        return
    table = Table("fault", "state", "intensities", "summary", "symptoms", "cap",
                  title="drill running: fault state hidden" if board.drill else None)  # fmt: skip
    for f in board.catalogue:
        state = f"[red]on {f.active}[/red]" if f.active else "off"
        state = "hidden" if board.drill else state
        table.add_row(f.id, state, " ".join(f.intensities), f.summary, "\n".join(f.symptoms), f.cap)
    Console().print(table)


def _switch(run_dir: Path, action: Callable[[Patient], FaultBoard], done: str, fault: str) -> None:
    patient = _patient(run_dir)
    try:
        board = action(patient)
    except PatientError as exc:
        _fail(exc)
    finally:
        patient.close()
    active = ", ".join(f"{k} {v}" for k, v in board.active.items()) or "none"
    active = "hidden (a drill is running)" if board.drill else active
    console.print(f"{done}; active now: {active}")
    grafana_commands.annotate_switch(f"fault {done}", ["fault", fault])
    console.print("next: [bold]labctl fault list[/bold]; [bold]labctl fault off --all[/bold] heals")


@fault_app.command("list")
def fault_list(run_dir: RunDir = Path("run"), as_json: JsonFlag = False) -> None:
    """The fault catalogue, as the running service reports it, with what is on."""
    patient = _patient(run_dir)
    try:
        board = patient.faults()
    except PatientError as exc:
        _fail(exc)
    finally:
        patient.close()
    _show_board(board, as_json)


@fault_app.command("on")
def fault_on(
    fault_id: Annotated[str, typer.Argument(help="a fault id from `labctl fault list`")],
    intensity: Annotated[str, typer.Option(help="1x, 10x or 100x")] = "1x",
    run_dir: RunDir = Path("run"),
) -> None:
    """Switch a fault on (applies within a second, no restart)."""
    _echo(f"PUT /admin/faults/{fault_id}?intensity={intensity}")
    _switch(run_dir, lambda p: p.fault_on(fault_id, intensity), f"{fault_id} on at {intensity}",
            fault_id)  # fmt: skip


@fault_app.command("off")
def fault_off(
    fault_id: Annotated[str | None, typer.Argument(help="a fault id; omit with --all")] = None,
    all_faults: Annotated[bool, typer.Option("--all", help="switch every fault off")] = False,
    run_dir: RunDir = Path("run"),
) -> None:
    """Switch a fault off, or every fault with --all; what it held is released."""
    if (fault_id is None) == (not all_faults):
        console.print("[red]labctl:[/red] name one fault, or pass --all (not both)")
        raise typer.Exit(2)
    _echo(f"DELETE /admin/faults{'' if all_faults else '/' + str(fault_id)}")
    _switch(run_dir, lambda p: p.fault_off(fault_id), f"{fault_id or 'every fault'} off",
            fault_id or "all")  # fmt: skip


profile_app = typer.Typer(help="Attach profilers to a live process.", no_args_is_help=True)
app.add_typer(profile_app, name="profile")
PidOption = Annotated[int | None, typer.Option("--pid", help="a running Python process")]
SecondsOption = Annotated[
    float, typer.Option("--seconds", min=0.5, max=3600, help="capture length")
]
CommandArg = Annotated[
    list[str] | None, typer.Argument(help="or a command to run under the profiler, after --")
]


def _run_folder(run_dir: Path, kind: str) -> Path:
    return run_dir / "profiles" / f"{datetime.now():%Y%m%d-%H%M%S}-{kind}"


@profile_app.command("cpu")
def profile_cpu(
    pid: PidOption = None,
    seconds: SecondsOption = 10.0,
    rate: Annotated[int, typer.Option(min=1, max=1000, help="samples a second")] = 100,
    idle: Annotated[bool, typer.Option(help="include threads that wait")] = False,
    callers: Annotated[
        str | None,
        typer.Option(help="also show who calls this function (qualified name), like pprof -peek"),
    ] = None,
    command: CommandArg = None,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> None:
    """py-spy record: flamegraph SVG, speedscope JSON, and functions by self and total share."""
    try:
        target = Target(pid=pid, command=tuple(command or ()))
        out = _run_folder(run_dir, "cpu")
        with console.status(f"sampling {target.describe()} for {seconds:g} s"):
            profile = record_cpu(
                target, seconds, out, rate, idle=idle,
                echo=_echo,
            )  # fmt: skip
    except ProbeError as exc:
        _fail(exc)
    peek = profile.stacks().callers(callers) if callers else []
    if as_json:
        body = profile.to_json()
        if callers:
            body["callers"] = [asdict(c) for c in peek]
        print(json.dumps(body, indent=2))
        return
    Console().print(tables.cpu_table(profile))
    if callers:
        Console().print(tables.callers_table(callers, peek))
    for name, path in profile.artefacts.items():
        console.print(f"  {name:<11} {path}")
    console.print(
        f"next: open {profile.artefacts['flamegraph']} in a browser, or drop the speedscope "
        "file on https://www.speedscope.app"
    )


@profile_app.command("scalene")
def profile_scalene(
    command: CommandArg = None,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> None:
    """Scalene: run a Python script and rank its lines by CPU (Python vs native) and memory."""
    try:
        out = _run_folder(run_dir, "scalene")
        with console.status(f"running {' '.join(command or ())} under scalene"):
            profile = run_scalene(tuple(command or ()), out, echo=_echo)
    except ProbeError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(profile.to_json(), indent=2))
        return
    Console().print(tables.scalene_cpu_table(profile))
    Console().print(tables.scalene_memory_table(profile))
    console.print(
        f"next: scalene view {profile.artefacts['profile']}  (the full line-by-line report in "
        "a browser)"
    )


def _lab_patient(run_dir: Path) -> Patient | None:
    """The lab's service, when it runs; profiling commands work without it."""
    try:
        return Patient.from_run_dir(run_dir)
    except PatientError:
        return None


@profile_app.command("heap")
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
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> None:
    """Heap growth: memory allocated during the window and still alive at its end, by
    allocation site (memray attach for a PID, memray run for a command; the lab's own
    service uses its debug surface's tracemalloc window unless --attach)."""
    patient = _lab_patient(run_dir) if pid is not None else None
    fallback = None
    if patient is not None and patient.pid == pid:
        lab = patient

        def fallback(window: float) -> HeapReport:
            _echo(f"GET /debug/heap?seconds={window:g}")
            return lab.heap_window(window, limit)

    try:
        target = Target(pid=pid, command=tuple(command or ()))
        out = _run_folder(run_dir, "heap")
        with console.status(f"tracking allocations of {target.describe()} for {seconds:g} s"):
            report = record_heap(
                target, seconds, out, limit=limit, fallback=fallback, attach=attach,
                echo=_echo,
            )  # fmt: skip
    except (ProbeError, PatientError) as exc:
        _fail(exc)
    finally:
        if patient is not None:
            patient.close()
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    Console().print(tables.heap_table(report))
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    for name, path in report.artefacts.items():
        console.print(f"  {name:<11} {path}")
    console.print("next: open the flamegraph HTML, or run it again to see whether the top "
                  "site keeps growing")  # fmt: skip


def _debug_view(run_dir: Path, what: str) -> Patient:
    patient = _patient(run_dir)
    _echo(f"GET {what}")
    return patient


T = TypeVar("T")


def _read_view(run_dir: Path, what: str, read: Callable[[Patient], T]) -> T:
    """One debug view read: echo it, turn a failure into its exit code, close the client."""
    patient = _debug_view(run_dir, what)
    try:
        return read(patient)
    except PatientError as exc:
        _fail(exc)
    finally:
        patient.close()


@profile_app.command("tasks")
def profile_tasks(run_dir: RunDir = Path("run"), as_json: JsonFlag = False) -> None:
    """The service's asyncio tasks grouped by creation site, most first."""
    census = _read_view(run_dir, "/debug/tasks?group=site", lambda p: p.tasks())
    if as_json:
        print(json.dumps(asdict(census), indent=2, default=str))
        return
    Console().print(tables.tasks_table(census))
    console.print("next: a site whose count keeps rising between runs is leaking tasks; "
                  "labctl profile tasks again in a minute")  # fmt: skip


def _parse_threshold(text: str) -> tuple[int, int, int]:
    try:
        gen0, gen1, gen2 = (int(part) for part in text.split(","))
    except ValueError:
        raise typer.BadParameter("give three integers: --threshold 700,10,10") from None
    return gen0, gen1, gen2


@profile_app.command("gc")
def profile_gc(
    threshold: Annotated[
        str | None, typer.Option(help="apply gen0,gen1,gen2 thresholds live, e.g. 50000,20,20")
    ] = None,
    freeze: Annotated[bool, typer.Option(help="gc.freeze() the current heap live")] = False,
    seconds: Annotated[
        float, typer.Option(min=1, max=600, help="window before and after the change")
    ] = 10.0,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> None:
    """GC pauses per generation and who was allocating when slow collections started.
    With --threshold or --freeze: pause p99 over a window before and after the change."""
    wanted = _parse_threshold(threshold) if threshold else None
    patient = _debug_view(run_dir, "/debug/gc")
    windows: list[GcWindow] = []
    try:
        report = patient.gc()
        if wanted or freeze:
            with console.status(f"measuring {seconds:g} s with the current settings"):
                time.sleep(seconds)
            end_before = patient.gc()
            if wanted:
                _echo(f"PUT /debug/gc/threshold?gen0={wanted[0]}&gen1={wanted[1]}&gen2={wanted[2]}")
                patient.set_gc_threshold(*wanted)
            if freeze:
                _echo("POST /debug/gc/freeze")
                patient.gc_freeze()
            start_after = patient.gc()  # the change itself (a freeze) is in neither window
            with console.status(f"measuring {seconds:g} s with the new settings"):
                time.sleep(seconds)
            after = patient.gc()
            windows = gc_windows([("before", report, end_before), ("after", start_after, after)])
            report = after
    except PatientError as exc:
        _fail(exc)
    finally:
        patient.close()
    if as_json:
        body = {"report": asdict(report), "windows": [asdict(w) for w in windows]}
        print(json.dumps(body, indent=2, default=str))
        return
    if windows:
        Console().print(tables.gc_windows_table(windows))
    Console().print(tables.gc_table(report))
    Console().print(tables.gc_triggers_table(report))
    console.print("next: labctl profile gc --threshold 50000,20,20 (or --freeze) compares "
                  "pause p99 before and after")  # fmt: skip


@profile_app.command("loop")
def profile_loop(run_dir: RunDir = Path("run"), as_json: JsonFlag = False) -> None:
    """Event-loop lag and the calls that blocked the loop, with their location."""
    report = _read_view(run_dir, "/debug/loop", lambda p: p.loop())
    if as_json:
        print(json.dumps(asdict(report), indent=2, default=str))
        return
    Console().print(tables.loop_table(report))
    console.print("next: the location of the longest stalls is the synchronous call to move "
                  "off the loop (asyncio.to_thread)")  # fmt: skip


@profile_app.command("objects")
def profile_objects(
    limit: Annotated[int, typer.Option(min=1, max=200)] = 15,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> None:
    """Most common object types and how each grew since the previous call (objgraph)."""
    census = _read_view(
        run_dir, "/debug/objects and /debug/objects/growth", lambda p: p.objects(limit)
    )
    if as_json:
        print(json.dumps(census.to_json(), indent=2))
        return
    Console().print(tables.objects_table(census))
    console.print("next: for a type that keeps growing, GET /debug/objects/backrefs?type=NAME "
                  "shows what holds it")  # fmt: skip


@app.command("diagnose")
def diagnose_cmd(
    pid: Annotated[
        int | None, typer.Option("--pid", help="a Python process; default: the lab's service")
    ] = None,
    seconds: Annotated[float, typer.Option(min=1, max=600, help="evidence window")] = 10.0,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> None:
    """Gather evidence (CPU profile, RSS, heap growth, tasks, GC, loop, fds, /metrics) and
    print ranked findings, each naming a function. Never reads the fault switches."""
    patient = _lab_patient(run_dir)
    if pid is None:
        if patient is None or patient.pid is None:
            console.print("[red]labctl:[/red] the lab's service is not running; give --pid PID "
                          "or start it with: labctl up")  # fmt: skip
            raise typer.Exit(3)
        pid = patient.pid
    elif patient is not None and patient.pid != pid:
        patient.close()
        patient = None
    try:
        with console.status(f"gathering evidence from pid {pid} for {seconds:g} s"):
            result = diagnose(
                pid, seconds, _run_folder(run_dir, "diagnose"), patient,
                echo=_echo,
            )  # fmt: skip
    except (ProbeError, PatientError) as exc:
        _fail(exc)
    finally:
        if patient is not None:
            patient.close()
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        return
    Console().print(tables.findings_table(result))
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if result.findings:
        top = result.findings[0]
        console.print(f"next: open {top.file}:{top.line} and read {top.function}; "
                      f"labctl profile {_PROFILE_FOR.get(top.kind, 'cpu')} shows more")  # fmt: skip
    else:
        console.print("next: nothing abnormal in this window; drive load (labctl load start) "
                      "and diagnose again")  # fmt: skip


_PROFILE_FOR = {"memory": "heap", "tasks": "tasks", "gc": "gc", "loop": "loop"}


app.command("top")(top_commands.top)
app.add_typer(grafana_commands.app, name="grafana")
app.add_typer(load_commands.app, name="load")
app.add_typer(lab_commands.app, name="lab")
app.add_typer(drill_commands.app, name="drill")

smtp_app = typer.Typer(
    help="The lab's SMTP sink: run it, count what it kept, make it fail.", no_args_is_help=True
)
app.add_typer(smtp_app, name="smtp")
SinkDir = Annotated[
    Path | None, typer.Option("--dir", help="the sink's directory; default RUN_DIR/smtp")
]


def _mailbox(run_dir: Path, directory: Path | None) -> Mailbox:
    return Mailbox(directory or sink_dir(run_dir))


@smtp_app.command("serve")
def smtp_serve(
    directory: Annotated[Path, typer.Option("--dir", help="where received mail is kept")],
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="SMTP port")] = smtp_sink.DEFAULT_PORT,
    metrics_port: Annotated[
        int, typer.Option(help="port of the sink's /metrics")
    ] = smtp_sink.DEFAULT_METRICS_PORT,
) -> None:
    """Run the SMTP sink in the foreground (``labctl up`` starts it for you)."""
    import asyncio

    try:
        asyncio.run(smtp_sink.serve(host, port, directory, metrics_port))
    except OSError as exc:
        console.print(f"[red]labctl smtp serve:[/red] cannot listen on {host}:{port}: {exc}")
        raise typer.Exit(1) from None


@smtp_app.command("status")
def smtp_status(
    run_dir: RunDir = Path("run"), directory: SinkDir = None, as_json: JsonFlag = False
) -> None:
    """What the sink kept: messages, distinct notices (idempotency keys), its fail rate."""
    box = _mailbox(run_dir, directory)
    messages = box.messages()
    summary = {
        "messages": len(messages),
        "distinct_notices": len({m.idempotency_key for m in messages if m.idempotency_key}),
        "fail_rate": box.fail_rate(),
        "directory": str(box.directory),
    }
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    for key, value in summary.items():
        console.print(f"  {key:<17} {value}")
    console.print("next: [bold]labctl smtp fail --rate 0.5[/bold] to make half the mail bounce")


@smtp_app.command("fail")
def smtp_fail(
    rate: Annotated[float, typer.Option(help="share of messages refused with 451, 0..1")],
    run_dir: RunDir = Path("run"),
    directory: SinkDir = None,
) -> None:
    """Make the sink answer a share of messages with a temporary failure (451)."""
    if not 0.0 <= rate <= 1.0:
        console.print(f"[red]labctl:[/red] --rate must be between 0 and 1, not {rate}")
        raise typer.Exit(2)
    box = _mailbox(run_dir, directory)
    box.set_fail_rate(rate)
    console.print(f"the sink now refuses {rate:.0%} of messages (wrote {box.control_file})")
    console.print("next: watch leaky_app_smtp_sends_total; [bold]labctl smtp heal[/bold] to stop")


@smtp_app.command("heal")
def smtp_heal(run_dir: RunDir = Path("run"), directory: SinkDir = None) -> None:
    """Make the sink accept every message again."""
    _mailbox(run_dir, directory).set_fail_rate(0.0)
    console.print("the sink accepts every message again")
    console.print("next: [bold]labctl smtp status[/bold]")


dashboards_app = typer.Typer(help="Grafana dashboards as code.", no_args_is_help=True)
app.add_typer(dashboards_app, name="dashboards")


@dashboards_app.command("build")
def dashboards_build(
    check: Annotated[
        bool, typer.Option(help="exit 1 if the committed JSON differs from a fresh build")
    ] = False,
) -> None:
    """Build every dashboard of the catalogue (labctl/dashboards.py) into JSON."""
    from labctl import dashboards

    stale = [
        spec.filename
        for spec in dashboards.DASHBOARDS
        if not (dashboards.OUT_DIR / spec.filename).exists()
        or (dashboards.OUT_DIR / spec.filename).read_text() != dashboards.render(spec)
    ]
    if check:
        if stale:
            console.print(f"stale: {', '.join(stale)}; run: labctl dashboards build")
            raise typer.Exit(1)
        console.print(f"{len(dashboards.DASHBOARDS)} dashboards match the catalogue")
        return
    for path in dashboards.write_all():
        console.print(f"  wrote {path}")
    console.print("next: docker compose up grafana, or labctl grafana push to an existing one")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # Non-standalone click returns the code of a typer.Exit instead of raising it.
        code = app(args, standalone_mode=False)
        return code if isinstance(code, int) else 0
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        return 130
    except Exception as exc:  # click's usage errors carry their own exit code
        show = getattr(exc, "show", None)
        code = getattr(exc, "exit_code", 1)
        if callable(show):
            show()
            return int(code)
        raise
