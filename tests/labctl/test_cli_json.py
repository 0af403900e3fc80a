"""``--json`` of the commands the other tests do not run with it: the stack's status, the
lab catalogue, the SMTP sink's count, and the GC-tuning table (its comparison runs live in
notebook 05; here its rows are printed as the command prints them)."""

import json
from pathlib import Path

import pytest

from labctl.cli import main
from labctl.records.gc_trials import GcTrial
from tests.labctl.cli_surface import check_json
from tests.live import LiveService


def printed(args: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


@pytest.mark.integration
def test_status_lists_the_running_processes(
    live_service: LiveService, capsys: pytest.CaptureFixture[str]
) -> None:
    body = printed(["status", "--run-dir", str(live_service.run_dir), "--json"], capsys)
    assert isinstance(body, dict) and body["service"]["pid"] == live_service.record.pid
    check_json("status", body, keyed_by_data=True)


def test_lab_list_and_smtp_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labs = printed(["lab", "list", "--json"], capsys)
    assert isinstance(labs, list) and labs[0]["number"] == "01"
    check_json("lab list", labs)
    sink = printed(["smtp", "status", "--dir", str(tmp_path), "--json"], capsys)
    assert sink == {"messages": 0, "distinct_notices": 0, "fail_rate": 0.0,
                    "directory": str(tmp_path)}  # fmt: skip
    check_json("smtp status", sink)


def test_gc_tuning_rows() -> None:
    trial = GcTrial("default (700, 10, 10)", 3.0, 90, 0.004, 0.05, 2, 40, 0.01, 1.5e8, 0, 42)
    check_json("lab gc-tuning", [trial.to_json()])
