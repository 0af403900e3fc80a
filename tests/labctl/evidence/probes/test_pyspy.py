"""``labctl profile cpu`` with real py-spy against target scripts and the live service."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labctl.cli import main
from tests.integration.load import load
from tests.labctl.cli_surface import check_json
from tests.labctl.render.pprof.go_pprof import top
from tests.labctl.targets import TARGETS, busy_pool, capture_neverending
from tests.live import FaultLab

pytestmark = pytest.mark.integration
BUSYLOOP = str(TARGETS / "busyloop.py")


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(args) == 0
    body: dict[str, Any] = json.loads(capsys.readouterr().out)
    check_json("profile cpu", body)
    return body


def test_profile_a_command_names_the_busy_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = run_json(
        ["profile", "cpu", "--run-dir", str(tmp_path), "--json", "--seconds", "3",
         "--callers", "spin_checksum", "--", sys.executable, BUSYLOOP, "2"],
        capsys,
    )  # fmt: skip
    top = body["top"]
    assert isinstance(top, list)
    assert top[0]["function"] == "spin_checksum"
    assert top[0]["self_pct"] > 80
    artefacts = body["artefacts"]
    assert isinstance(artefacts, dict)
    svg = Path(artefacts["flamegraph"]).read_text()
    assert svg.startswith("<svg") and "spin_checksum" in svg
    speedscope = json.loads(Path(artefacts["speedscope"]).read_text())
    assert speedscope["profiles"]
    callers = body["callers"]  # who calls it, like pprof -peek: only main does
    assert isinstance(callers, list)
    assert [(c["function"], c["share_pct"]) for c in callers] == [("main", 100.0)]


def test_profile_cpu_writes_a_pprof_that_go_tool_pprof_reads_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["profile", "cpu", "--format", "pprof", "--seconds", "3", "--run-dir", str(tmp_path)]
    body = run_json([*args, "--json", "--", sys.executable, BUSYLOOP, "2"], capsys)
    read = top(Path(body["artefacts"]["pprof"]), "samples")
    assert read.total == body["samples"], read.raw
    assert read.rows[0][1] == body["top"][0]["function"] == "spin_checksum", read.raw


def test_profile_a_command_that_never_exits_keeps_its_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = capture_neverending(lambda args: run_json(args, capsys), ["profile", "cpu"], tmp_path, 2)
    assert body["top"][0]["function"] == "hoard_forever", body["top"][:3]


def test_profile_a_pool_s_master_names_the_worker_that_carries_the_cpu(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with busy_pool(tmp_path) as (master, worker):
        body = run_json(["profile", "cpu", "--pid", str(master), "--seconds", "2",
                         "--run-dir", str(tmp_path), "--json"], capsys)  # fmt: skip
    assert "--subprocesses" in body["command"]
    busiest = body["processes"][0]
    assert busiest["pid"] == worker and busiest["pid"] != master, body["processes"]
    assert busiest["top"]["function"] == "crunch_ledger" and busiest["share_pct"] > 80
    assert body["top"][0]["function"] == "crunch_ledger"
    assert any(f"pid {worker} carries" in note for note in body["notes"]), body["notes"]


def test_profile_a_pid_names_the_busy_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc = subprocess.Popen([sys.executable, BUSYLOOP, "30"])
    try:
        body = run_json(
            ["profile", "cpu", "--pid", str(proc.pid), "--seconds", "2", "--run-dir",
             str(tmp_path), "--json"],
            capsys,
        )  # fmt: skip
    finally:
        proc.kill()
        proc.wait()
    top = body["top"]
    assert isinstance(top, list)
    assert top[0]["function"] == "spin_checksum"


def test_profile_the_live_service_under_cpu_hotloop(
    fault_lab: FaultLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fault_lab.switch("cpu_hotloop", "10x")
    try:
        with load(fault_lab.service.url, fault_lab.codes):
            body = run_json(
                ["profile", "cpu", "--pid", str(fault_lab.service.record.pid), "--seconds", "3",
                 "--run-dir", str(tmp_path), "--json"],
                capsys,
            )  # fmt: skip
    finally:
        fault_lab.switch("cpu_hotloop", None)
    top = body["top"]
    assert isinstance(top, list)
    assert top[0]["function"] == "ReadyRanking.rebuild"


def test_errors_have_exit_codes_and_sentences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", "cpu", "--pid", "999999999", "--run-dir", str(tmp_path)]) == 3
    assert "no process with pid" in capsys.readouterr().err
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        code = main(["profile", "cpu", "--pid", str(sleeper.pid), "--run-dir", str(tmp_path)])
    finally:
        sleeper.kill()
        sleeper.wait()
    assert code == 4
    assert "not a Python process" in capsys.readouterr().err
    assert main(["profile", "cpu", "--run-dir", str(tmp_path)]) == 2
    assert "either --pid" in capsys.readouterr().err
