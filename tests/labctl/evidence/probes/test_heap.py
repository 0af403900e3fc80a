"""``labctl profile heap`` with real memray against a target script and the live service."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labctl.cli import main
from labctl.evidence.probes.heap import group_growth
from tests.integration.load import load
from tests.labctl.cli_surface import check_json
from tests.labctl.render.pprof.go_pprof import top
from tests.labctl.targets import TARGETS, busy_pool, capture_neverending
from tests.live import FaultLab

pytestmark = pytest.mark.integration
CACHEHOG = str(TARGETS / "cachehog.py")
APP = "/srv/app/thumbs.py"
LIB = "/usr/lib/python3.11/functools.py"


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    body: dict[str, Any] = json.loads(captured.out)
    check_json("profile heap", body)
    return body


def test_growth_groups_by_innermost_application_frame_and_ranks_by_bytes() -> None:
    rows = group_growth([
        ([("wrapper", LIB, 1), ("render", APP, 10), ("serve", APP, 20)], 1000, 10),
        ([("render", APP, 10), ("serve", APP, 20)], 500, 5),
        ([("serve", APP, 21)], 600, 1),
        ([], 5000, 1),  # no stack (memray attach's own buffers): largest, yet last
    ])  # fmt: skip
    assert [(r.location.function, r.bytes, r.count) for r in rows] == [
        ("render", 1500, 15), ("serve", 600, 1), ("<no stack>", 5000, 1),
    ]  # fmt: skip


def test_profile_heap_of_a_command_names_the_caching_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = run_json(
        ["profile", "heap", "--run-dir", str(tmp_path), "--json",
         "--", sys.executable, CACHEHOG, "2"],
        capsys,
    )  # fmt: skip
    assert body["source"] == "memray run"
    growth = body["growth"]
    assert isinstance(growth, list)
    assert growth[0]["function"] == "render_thumbnail"
    assert growth[0]["bytes"] > 5 * growth[1]["bytes"]
    assert set(growth[0]) == {"function", "file", "line", "bytes", "count"}
    artefacts = body["artefacts"]
    assert isinstance(artefacts, dict)
    assert "render_thumbnail" in Path(artefacts["flamegraph"]).read_text()


def test_profile_heap_writes_a_pprof_that_go_tool_pprof_reads_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["profile", "heap", "--format", "pprof", "--limit", "200", "--run-dir", str(tmp_path)]
    body = run_json([*args, "--json", "--", sys.executable, CACHEHOG, "2"], capsys)
    path = Path(body["artefacts"]["pprof"])
    in_use = top(path, "inuse_space")
    assert len(body["growth"]) < 200  # every site is in the report, so the totals compare
    assert in_use.total == sum(g["bytes"] for g in body["growth"]), in_use.raw
    assert in_use.rows[0][1] == body["growth"][0]["function"] == "render_thumbnail"
    assert top(path, "inuse_objects").total == sum(g["count"] for g in body["growth"])
    # Allocated includes what was freed again: never less than what is still in use.
    assert top(path, "alloc_space").total >= in_use.total


def test_profile_heap_of_a_command_that_never_exits_keeps_its_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = capture_neverending(lambda a: run_json(a, capsys), ["profile", "heap"], tmp_path, 2)
    assert body["growth"][0]["function"] == "hoard_forever", body["growth"][:3]


def test_profile_heap_of_a_pool_s_master_names_the_worker_that_keeps_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with busy_pool(tmp_path, hoard=True) as (master, worker):
        body = run_json(["profile", "heap", "--pid", str(master), "--seconds", "2",
                         "--run-dir", str(tmp_path), "--json"], capsys)  # fmt: skip
    rows = {p["pid"]: p for p in body["processes"]}
    assert body["processes"][0]["pid"] == worker, body["processes"]
    assert rows[worker]["watched"] and rows[worker]["top"]["function"] == "crunch_ledger"
    assert rows[worker]["bytes"] > 1 << 20  # 16 KiB a round, many rounds a second
    # The idle ones are named, with why they were not watched, not waited for.
    idle = [p for p in body["processes"] if not p["watched"]]
    assert idle and all("idle" in p["reason"] for p in idle), body["processes"]
    assert body["growth"][0]["function"] == "crunch_ledger"


def test_profile_heap_attaches_to_a_pid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc = subprocess.Popen([sys.executable, CACHEHOG, "60"])
    try:
        body = run_json(
            ["profile", "heap", "--pid", str(proc.pid), "--seconds", "2",
             "--run-dir", str(tmp_path), "--json"],
            capsys,
        )  # fmt: skip
        assert proc.poll() is None, "the target must survive the attach"
    finally:
        proc.kill()
        proc.wait()
    assert body["source"] == "memray attach"
    growth = body["growth"]
    assert isinstance(growth, list)
    assert growth[0]["function"] == "render_thumbnail"
    assert growth[0]["bytes"] > 1024 * 1024


def _heap_of_service(
    fault_lab: FaultLab, capsys: pytest.CaptureFixture[str], *extra: str
) -> dict[str, Any]:
    fault_lab.switch("unbounded_cache", "10x")
    try:
        with load(fault_lab.service.url, fault_lab.codes):
            return run_json(
                ["profile", "heap", "--pid", str(fault_lab.service.record.pid), "--seconds",
                 "3", "--run-dir", str(fault_lab.service.run_dir), "--json", *extra],
                capsys,
            )  # fmt: skip
    finally:
        fault_lab.switch("unbounded_cache", None)


def test_profile_heap_of_the_live_service_uses_its_tracemalloc_window_and_names_the_cache(
    fault_lab: FaultLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = _heap_of_service(fault_lab, capsys, "--format", "pprof")
    assert body["source"] == "tracemalloc (debug surface)"
    growth = body["growth"]
    assert isinstance(growth, list)
    assert growth[0]["function"] == "FinishedPages.page", growth[:3]
    # The window gives sites, not stacks: the pprof has them as one frame each, in use only.
    in_use = top(Path(body["artefacts"]["pprof"]), "inuse_space")
    assert in_use.rows[0][1] == "FinishedPages.page", in_use.raw
    assert in_use.total == sum(g["bytes"] for g in growth)
    assert any("by site only" in note for note in body["notes"]), body["notes"]
    with fault_lab.service.client() as client:
        assert client.get("/livez").status_code == 200


def test_attach_without_a_debugger_falls_back_to_tracemalloc_and_says_so(
    fault_lab: FaultLab,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no lldb, no gdb
    body = _heap_of_service(fault_lab, capsys, "--attach")
    assert body["source"] == "tracemalloc (debug surface)"
    notes = body["notes"]
    assert isinstance(notes, list) and "memray attach was impossible" in notes[0]
    growth = body["growth"]
    assert isinstance(growth, list)
    assert growth[0]["function"] == "FinishedPages.page", growth[:3]


def test_heap_errors_have_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "heap", "--pid", "999999999", "--run-dir", str(tmp_path)]) == 3
    assert "no process with pid" in capsys.readouterr().err
