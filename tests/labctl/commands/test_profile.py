"""``labctl profile tasks | gc | loop | objects``: the debug views, rendered, against the
shared live service with the fault that each view exists to reveal."""

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from labctl.cli import app, main
from labctl.evidence.patient import Patient
from tests.integration.load import load
from tests.labctl.cli_surface import check_json, command_of
from tests.labctl.targets import TARGETS, serving
from tests.live import FaultLab
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    if "--json" in args:
        check_json(command_of(args), json.loads(captured.out))
    return captured.out


@contextmanager
def fault_showing(
    fault_lab: FaultLab,
    fault: str,
    intensity: str,
    symptom: Callable[[Patient], bool],
    what: str,
    clients: int = 3,
) -> Iterator[None]:
    """Fault on under load until ``symptom`` holds; the body reads the view; then off."""
    fault_lab.switch(fault, intensity)
    try:
        with (
            load(fault_lab.service.url, fault_lab.codes, threads=clients),
            Patient.from_run_dir(fault_lab.service.run_dir) as patient,
        ):
            eventually_sync(lambda: symptom(patient), what)
        yield
    finally:
        fault_lab.switch(fault, None)


def tasks_pile_up(patient: Patient) -> bool:
    return patient.tasks().count > 500


def test_tasks_view_ranks_the_leaking_site_first(
    fault_lab: FaultLab, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = str(fault_lab.service.run_dir)
    with fault_showing(fault_lab, "task_leak", "10x", tasks_pile_up, "tasks pile up"):
        body = json.loads(run(["profile", "tasks", "--run-dir", run_dir, "--json"], capsys))
    top = body["groups"][0]
    assert top["site"]["function"] == "AckTasks.send", body["groups"][:3]
    assert top["count"] > 10 * max(1, body["groups"][1]["count"])
    table = run(["profile", "tasks", "--run-dir", run_dir], capsys)
    assert "live tasks" in table


def test_loop_view_names_the_blocking_call(
    fault_lab: FaultLab, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = str(fault_lab.service.run_dir)
    switched = time.time()

    def stalls_since(patient: Patient) -> int:
        # The watchdog keeps its last stalls whatever their age (another fault's, say).
        return sum(s.started_at >= switched for s in patient.loop().stalls)

    with fault_showing(
        fault_lab, "loop_blocking", "10x", lambda p: stalls_since(p) >= 3, "the loop stalls",
        clients=8,
    ):  # fmt: skip
        body = json.loads(run(["profile", "loop", "--run-dir", run_dir, "--json"], capsys))
    located = [s["location"]["function"] for s in body["stalls"]
               if s["location"] and s["started_at"] >= switched]  # fmt: skip
    assert located and located[0] == "ReputationClient.url_verdict", located[:3]


def test_gc_view_blames_the_cycle_builder_and_tuning_is_measured(
    fault_lab: FaultLab, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = str(fault_lab.service.run_dir)
    with Patient.from_run_dir(fault_lab.service.run_dir) as patient:
        original = patient.gc().threshold
        fault_lab.switch("gc_churn", "10x")
        try:
            with load(fault_lab.service.url, fault_lab.codes):
                eventually_sync(
                    lambda: any(
                        t.site.function == "RedirectAudit.record" for t in patient.gc().triggers
                    ),
                    "older collections attributed",
                )
                raised = f"{original[0] * 50},{original[1]},{original[2]}"
                body = json.loads(run(["profile", "gc", "--threshold", raised, "--seconds", "2",
                                       "--run-dir", run_dir, "--json"], capsys))  # fmt: skip
        finally:
            fault_lab.switch("gc_churn", None)
            patient.set_gc_threshold(*original)
    tops = [t["site"]["function"] for t in body["report"]["triggers"]]
    assert "RedirectAudit.record" in tops[:2], tops
    gen0 = {w["window"]: w["collections"] for w in body["windows"] if w["generation"] == 0}
    # Same window length, same load: a 50x higher gen-0 threshold must cut collections.
    assert gen0["before"] > 5 * gen0["after"], gen0


def test_objects_view_shows_the_leaking_type_growing(
    fault_lab: FaultLab, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["profile", "objects", "--run-dir", str(fault_lab.service.run_dir), "--json"]
    baseline = json.loads(run(args, capsys))
    # Counted are the objects made since the service froze its start-up heap (objgraph walks
    # gc.get_objects, which skips the permanent generation): requests make dicts all the time.
    assert {r["type"]: r["count"] for r in baseline["most_common"]}["builtins.dict"] > 100
    with fault_showing(fault_lab, "task_leak", "10x", tasks_pile_up, "tasks pile up"):
        grown = json.loads(run(args, capsys))
    deltas = {r["type"]: r["delta"] for r in grown["growth"]}
    assert deltas.get("_asyncio.Task", 0) > 400, deltas


def test_a_capture_window_no_profiler_takes_is_refused_up_front(tmp_path: Path) -> None:
    runner = CliRunner()
    run_dir = ["--run-dir", str(tmp_path)]
    half = runner.invoke(app, ["profile", "cpu", "--seconds", "2.5", *run_dir, "--", "python"])
    assert half.exit_code == 2 and "whole seconds" in half.stderr
    short = runner.invoke(app, ["profile", "heap", "--seconds", "0.5", *run_dir, "--", "python"])
    said = " ".join(re.sub("[│╭╮╰╯─]", " ", short.stderr).split())  # rich's box, unwrapped
    assert short.exit_code == 2 and "greater than or equal to 1" in said  # typer's range
    neither = runner.invoke(app, ["profile", "cpu", *run_dir])
    assert neither.exit_code == 2 and "either --pid PID or a command" in neither.stderr
    view = runner.invoke(app, ["profile", "tasks", *run_dir])
    assert view.exit_code == 3 and "labctl up" in view.stderr
    bad = runner.invoke(app, ["profile", "gc", "--threshold", "7,x", *run_dir])
    assert bad.exit_code == 2 and "three integers" in bad.stderr


def test_a_heap_window_longer_than_the_service_takes_is_refused_before_capturing(
    fault_lab: FaultLab, tmp_path: Path
) -> None:
    service = fault_lab.service
    args = ["profile", "heap", "--pid", str(service.record.pid), "--seconds", "120",
            "--run-dir", str(service.run_dir)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.stderr
    assert "debug_max_seconds" in result.stderr and "--attach" in result.stderr


def capture(args: list[str], capsys: pytest.CaptureFixture[str]) -> Path:
    """The folder of a real capture made with ``labctl profile ... --json -- CMD``."""
    at = args.index("--")
    body = json.loads(run([*args[:at], "--json", *args[at:]], capsys))
    return Path(next(iter(body["artefacts"].values()))).parent


def test_diff_of_two_cpu_captures_names_what_grew_and_what_shrank(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = [sys.executable, str(TARGETS / "twojobs.py")]
    cpu = ["profile", "cpu", "--seconds", "3", "--run-dir", str(tmp_path)]
    base = capture([*cpu, "--", *job, "0.8", "2"], capsys)  # parse_records 80 % of the time
    new = capture([*cpu, "--", *job, "0.2", "2"], capsys)  # then 20 %: render_pages grew
    body = json.loads(run(["profile", "diff", str(base), str(new), "--run-dir", str(tmp_path),
                           "--json"], capsys))  # fmt: skip
    top_two = {c["function"]: c["total_delta_pct"] for c in body["changes"][:2]}
    assert top_two.keys() == {"render_pages", "parse_records"}, body["changes"][:3]
    # 60 points expected; a loaded machine blurs the shares, never by half.
    assert top_two["render_pages"] > 30 and top_two["parse_records"] < -30, top_two
    svg = Path(body["artefacts"]["flamegraph"]).read_text()
    assert "render_pages" in svg and "points against the base" in svg
    table = run(["profile", "diff", str(base), str(new), "--run-dir", str(tmp_path)], capsys)
    assert "render_pages" in table and "share of samples" in table


def test_diff_of_two_heap_captures_ranks_the_site_that_kept_more(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    heap = ["profile", "heap", "--run-dir", str(tmp_path), "--"]
    base = capture([*heap, sys.executable, str(TARGETS / "busyloop.py"), "1"], capsys)
    new = capture([*heap, sys.executable, str(TARGETS / "cachehog.py"), "2"], capsys)
    body = json.loads(run(["profile", "diff", str(base), str(new), "--run-dir", str(tmp_path),
                           "--json"], capsys))  # fmt: skip
    top = body["changes"][0]
    assert top["function"] == "render_thumbnail", body["changes"][:3]
    # 16 KiB a key kept, hundreds of keys a second (fewer under memray on a loaded machine).
    assert top["base_bytes"] == 0 and top["delta_bytes_per_second"] > 256 * 1024, top
    cpu = capture(["profile", "cpu", "--seconds", "1", "--run-dir", str(tmp_path), "--",
                   sys.executable, str(TARGETS / "busyloop.py"), "1"], capsys)  # fmt: skip
    mixed = main(["profile", "diff", str(cpu), str(new), "--run-dir", str(tmp_path)])
    assert mixed == 2 and "compare two CPU or two heap captures" in capsys.readouterr().err


def test_tasks_of_a_foreign_process_are_read_from_inside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving("taskleak.py", tmp_path) as pid:
        args = ["profile", "tasks", "--pid", str(pid), "--inject", "--seconds", "1"]
        body = json.loads(run([*args, "--run-dir", str(tmp_path), "--json"], capsys))
        table = run([*args, "--run-dir", str(tmp_path)], capsys)
    before, after = body["tasks"]
    assert after["count"] > before["count"] + 20, (before["count"], after["count"])
    assert after["groups"][0]["site"]["function"] == "Fanout.deliver", after["groups"][:2]
    assert "suspended at" in table and "Fanout.deliver" in table
    assert body["injected_with"] == "lldb and Py_AddPendingCall"
    assert body["leftovers"]["threads"] == 0


def test_inject_without_a_pid_or_a_pid_without_inject_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", "tasks", "--inject", "--run-dir", str(tmp_path)]) == 2
    assert "--inject needs --pid PID" in " ".join(capsys.readouterr().err.split())
    assert main(["profile", "tasks", "--pid", "1", "--run-dir", str(tmp_path)]) == 2
    assert "add --inject" in " ".join(capsys.readouterr().err.split())


def test_injecting_again_and_again_into_the_live_service_under_load_breaks_nothing(
    fault_lab: FaultLab, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lab's service is multi-threaded (metrics, debug surface, watchdogs, a pool that
    grows and shrinks) and busy: four windows in a row, each queued by lldb, cost no request
    and leave none of their threads running."""
    service, run_dir = fault_lab.service, str(fault_lab.service.run_dir)
    pid = service.record.pid
    with (
        load(service.url, fault_lab.codes) as driver,
        Patient.from_run_dir(service.run_dir) as patient,
    ):
        for _ in range(4):
            served = driver.stats.requests
            args = ["profile", "tasks", "--pid", str(pid), "--inject", "--seconds", "1"]
            body = json.loads(run([*args, "--run-dir", run_dir, "--json"], capsys))
            assert body["leftovers"]["threads"] == 0
            assert driver.stats.requests > served  # served during the window
            seen_inside, seen_by_surface = body["tasks"][1]["count"], patient.tasks().count
            assert abs(seen_inside - seen_by_surface) <= max(20, seen_by_surface // 5)
    assert driver.stats.requests > 100 and driver.stats.errors == 0, driver.stats.errors
    with service.client() as client:
        assert client.get("/livez").status_code == 200
    assert service.record.pid == pid and psutil.pid_exists(pid)


def test_loop_and_gc_of_a_foreign_process_are_read_from_inside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving("stallgc.py", tmp_path) as pid:
        inside = ["--pid", str(pid), "--inject", "--seconds", "2", "--run-dir", str(tmp_path)]
        loop = json.loads(run(["profile", "loop", *inside, "--json"], capsys))
        gc_body = json.loads(run(["profile", "gc", *inside, "--json"], capsys))
        assert main(["profile", "gc", *inside, "--threshold", "5000,10,10"]) == 2
        assert "with --inject labctl only watches" in " ".join(capsys.readouterr().err.split())
    stalls = loop["loop"][1]["stalls"]
    assert stalls and {s["location"]["function"] for s in stalls} == {"Report.render"}, stalls
    # 0.25 s of sleep each; the window sees most of each (a ratio, not a time).
    assert all(0.5 <= s["seconds"] / 0.25 <= 2.0 for s in stalls), stalls
    assert [p["count"] for p in gc_body["gc"][0]["pauses"]] == [0, 0, 0]  # from its start
    assert gc_body["gc"][1]["pauses"][2]["count"] >= 1, gc_body["gc"][1]["pauses"]
    assert gc_body["gc"][1]["triggers"][0]["site"]["function"] == "Graph.build"
