"""``labctl diagnose`` names the culprit from evidence alone: the live service under each
core fault, the blocking call, the descriptor leak, the series explosion and the resend storm
(random order), target scripts that are not ours (alone, with workers, against a baseline,
healthy, a task leak seen from inside), and a clean run."""

import json
import random
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import httpx
import pytest

from labctl.cli import main
from labctl.stack.ports import free_port
from leaky_app.faults import CATALOGUE
from tests.integration.load import OwnedLinks, load, scrape
from tests.labctl.cli_surface import check_json
from tests.labctl.targets import TARGETS, busy_pool, process_group, serving, written_pids
from tests.live import FaultLab
from tests.polling import eventually_sync

ROOT = Path(__file__).parents[3]

pytestmark = pytest.mark.integration
# The core faults, the blocking call, the descriptor leak and the series explosion (their
# findings grep the code py-spy saw running: for the files' names, for the metric's name and
# its .labels call), and the resend storm (in the setting of its lab: the mail provider
# refuses everything, and new links mail their owners).
FAULTS = ["cpu_hotloop", "task_leak", "unbounded_cache", "gc_churn", "loop_blocking",
          "fd_leak", "cardinality_explosion", "retry_storm"]  # fmt: skip
CULPRIT = {f.id: f.culprit.split(":")[1] for f in CATALOGUE}


@contextmanager
def provider_outage(fault_lab: FaultLab) -> Iterator[None]:
    """Lab 07's setting: the SMTP server refuses everything while owners create links; after,
    it accepts again and the outbox drains."""
    service = fault_lab.service
    service.mailbox.set_fail_rate(1.0)
    try:
        with OwnedLinks(service.url, per_second=20):
            yield
    finally:
        service.mailbox.set_fail_rate(0.0)
    eventually_sync(
        lambda: scrape(service.metrics_url)["leaky_app_outbox_pending"] == 0,
        "the outbox drains once the server accepts mail again",
        deadline_s=60,
    )


def no_setting(_: FaultLab) -> AbstractContextManager[None]:
    return nullcontext()


SETTING: dict[str, Callable[[FaultLab], AbstractContextManager[None]]] = {
    "retry_storm": provider_outage,
}
# The release keeps a file per link clicked: the load clicks links new to it, as the lab's
# load does with the links it creates (enough that the window is still clicking new ones).
FRESH_LINKS = {"fd_leak": 600}
# A blocking call lasts 50 ms and a stall is 100 ms late: two calls in a row, which takes
# clients arriving together (lab 02 has ten users); two in five visits are previews, which
# do not block.
THREADS = {"loop_blocking": 6}


def diagnose(args: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    code = main(["diagnose", "--json", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    body = json.loads(captured.out)
    check_json("diagnose", body)
    findings: list[dict[str, object]] = body["findings"]
    return findings


def test_clean_service_under_load_has_no_serious_finding(
    fault_lab: FaultLab, capsys: pytest.CaptureFixture[str]
) -> None:
    with fault_lab.service.client() as client:  # warm: a first request is not a leak
        for code in fault_lab.codes * 20:
            client.get(f"/{code}")
    with load(fault_lab.service.url, fault_lab.codes):
        findings = diagnose(["--seconds", "4", "--run-dir", str(fault_lab.service.run_dir)], capsys)
    serious = [f for f in findings if float(str(f["score"])) >= 0.5]
    assert serious == [], serious
    assert not [f for f in findings if f["kind"] in {"tasks", "memory", "gc", "loop"}], findings


def test_diagnose_names_each_faults_culprit_first(
    fault_lab: FaultLab, capsys: pytest.CaptureFixture[str]
) -> None:
    order = random.sample(FAULTS, len(FAULTS))
    for fault in order:
        with SETTING.get(fault, no_setting)(fault_lab):
            fresh = FRESH_LINKS.get(fault)
            codes = fault_lab.new_links(fresh) if fresh else fault_lab.codes
            fault_lab.switch(fault, "10x")
            try:
                with load(fault_lab.service.url, codes, THREADS.get(fault, 3)):
                    findings = diagnose(
                        ["--seconds", "4", "--run-dir", str(fault_lab.service.run_dir)], capsys
                    )
            finally:
                fault_lab.switch(fault, None)
        assert findings, f"{fault}: no finding (order {order})"
        first = findings[0]
        assert first["function"] == CULPRIT[fault], (order, fault, findings[:3])
        assert set(first) == {"kind", "function", "file", "line", "evidence", "score"}


def test_diagnose_a_process_that_is_not_ours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hog = subprocess.Popen([sys.executable, str(TARGETS / "cachehog.py"), "60"])
    busy = subprocess.Popen([sys.executable, str(TARGETS / "busyloop.py"), "60"])
    try:
        memory = diagnose(["--pid", str(hog.pid), "--seconds", "3", "--run-dir", str(tmp_path)],
                          capsys)  # fmt: skip
        cpu = diagnose(["--pid", str(busy.pid), "--seconds", "3", "--run-dir", str(tmp_path)],
                       capsys)  # fmt: skip
    finally:
        for proc in (hog, busy):
            proc.kill()
            proc.wait()
    kinds = {f["kind"]: f["function"] for f in memory}
    assert kinds.get("memory") == "render_thumbnail", memory
    assert cpu[0]["kind"] == "cpu" and cpu[0]["function"] == "spin_checksum", cpu


def test_a_baseline_turns_the_finding_to_what_grew_and_away_from_what_did_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """twojobs.py splits its CPU between two callers of one helper, ``spin``: alone, diagnose
    names the helper (all self time is there); against a healthy capture with the other split,
    it names the caller that grew; against a capture of the same split, nothing grew."""
    job = [sys.executable, str(TARGETS / "twojobs.py")]
    run_dir = ["--run-dir", str(tmp_path)]
    folders = {}
    for share in ("0.8", "0.2"):
        assert main(["profile", "cpu", "--seconds", "3", *run_dir, "--json", "--", *job, share,
                     "2"]) == 0  # fmt: skip
        body = json.loads(capsys.readouterr().out)
        folders[share] = str(Path(body["artefacts"]["speedscope"]).parent)
    slow = subprocess.Popen([*job, "0.2", "60"])  # the release where render_pages got slower
    try:
        window = ["--pid", str(slow.pid), "--seconds", "2", *run_dir]
        alone = diagnose(window, capsys)
        against_healthy = diagnose([*window, "--baseline", folders["0.8"]], capsys)
        against_itself = diagnose([*window, "--baseline", folders["0.2"]], capsys)
    finally:
        slow.kill()
        slow.wait()
    assert alone[0]["kind"] == "cpu" and alone[0]["function"] == "spin", alone
    first = against_healthy[0]
    assert (first["kind"], first["function"]) == ("cpu", "render_pages"), against_healthy
    assert "in the baseline" in str(first["evidence"]), first
    assert [f for f in against_itself if f["kind"] == "cpu"] == [], against_itself


def test_gunicorn_s_master_is_profiled_with_its_workers_and_the_busy_one_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port, mark = free_port(), tmp_path / "worker"
    gunicorn = [sys.executable, "-m", "gunicorn", "-k", "uvicorn_worker.UvicornWorker", "-w",
                "2", "-b", f"127.0.0.1:{port}", "tests.labctl.targets.workers_app:app"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with process_group(gunicorn, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                       ) as master:  # fmt: skip
        eventually_sync(lambda: answers(url), "gunicorn answers", deadline_s=60)
        # One request keeps one worker busy for the whole test (its loop is blocked).
        threading.Thread(target=answers, args=(f"{url}/price?seconds=40&mark={mark}", 60),
                         daemon=True).start()  # fmt: skip
        [worker] = written_pids(mark)
        window = ["--pid", str(master.pid), "--seconds", "3", "--run-dir", str(tmp_path)]
        assert main(["profile", "cpu", *window, "--json"]) == 0
        profile = json.loads(capsys.readouterr().out)
        found = diagnose(window, capsys)
    by_pid = {p["pid"]: p for p in profile["processes"]}
    assert profile["processes"][0]["pid"] == worker != master.pid, profile["processes"]
    assert by_pid[worker]["top"]["function"] == "price_basket"
    first = found[0]
    assert (first["kind"], first["function"]) == ("cpu", "price_basket"), found
    assert f"pid {worker}" in str(first["evidence"]), first


def test_diagnose_of_a_pool_s_master_names_the_worker_whose_memory_grows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with busy_pool(tmp_path, hoard=True) as (master, worker):
        found = diagnose(["--pid", str(master), "--seconds", "3", "--run-dir", str(tmp_path)],
                         capsys)  # fmt: skip
    memory = [f for f in found if f["kind"] == "memory"]
    assert memory and memory[0]["function"] == "crunch_ledger", found
    assert f"pid {worker} +" in str(memory[0]["evidence"]), memory[0]


def answers(url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_healthy_program_that_is_not_ours_has_no_finding_and_diagnose_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steady = subprocess.Popen([sys.executable, str(TARGETS / "steady.py"), "60"])
    try:
        window = ["--pid", str(steady.pid), "--seconds", "3", "--run-dir", str(tmp_path)]
        # Its tasks, collections and loop are examined too, from inside it.
        found = diagnose([*window, "--inject"], capsys)
        assert main(["diagnose", *window]) == 0
        said = capsys.readouterr()
    finally:
        steady.kill()
        steady.wait()
    assert found == []
    assert "nothing abnormal in this window" in said.out + said.err


def test_diagnose_names_a_task_leak_in_a_process_without_a_debug_surface_from_inside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serving("taskleak.py", tmp_path) as pid:
        code = main(["diagnose", "--pid", str(pid), "--inject", "--seconds", "3",
                     "--run-dir", str(tmp_path), "--json"])  # fmt: skip
        captured = capsys.readouterr()
    assert code == 0, captured.err
    body = json.loads(captured.out)
    check_json("diagnose", body)
    top = body["findings"][0]
    assert (top["kind"], top["function"]) == ("tasks", "Fanout.deliver"), body["findings"]
    assert "most are suspended in Fanout.deliver" in str(top["evidence"])
    assert any("measured inside the process" in note for note in body["notes"]), body["notes"]


def test_diagnose_names_the_code_that_opens_the_files_a_process_leaks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    writer = subprocess.Popen([sys.executable, str(TARGETS / "segmentleak.py"), "60", str(files)])
    try:
        found = diagnose(
            ["--pid", str(writer.pid), "--seconds", "3", "--run-dir", str(tmp_path / "run")],
            capsys,
        )
    finally:
        writer.kill()
        writer.wait()
    fds = [f for f in found if f["kind"] == "fds"]
    assert fds, found
    assert fds[0]["function"] == "SegmentWriter.rotate", fds
    assert str(fds[0]["file"]).endswith("segmentleak.py") and int(str(fds[0]["line"])) > 0
    assert "open files are " + str(files) in str(fds[0]["evidence"]), fds


def test_diagnose_without_a_target_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diagnose", "--run-dir", str(tmp_path)]) == 3
    assert "not running" in capsys.readouterr().err


def test_a_window_the_services_heap_window_cannot_follow_is_refused_at_once(
    fault_lab: FaultLab, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = ["--run-dir", str(fault_lab.service.run_dir)]
    assert main(["diagnose", "--seconds", "120", *run_dir]) == 2
    assert "debug_max_seconds" in capsys.readouterr().err
    assert main(["diagnose", "--seconds", "1.5", *run_dir]) == 2
    assert "whole seconds" in capsys.readouterr().err
