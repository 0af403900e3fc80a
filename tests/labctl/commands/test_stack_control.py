"""``labctl preflight|up|down|status`` in-process: what they say and print, and their codes."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from tests.labctl.cli_surface import check_json
from tests.live import LiveService

runner = CliRunner()


def test_status_and_down_of_an_empty_run_directory(tmp_path: Path) -> None:
    status = runner.invoke(app, ["status", "--run-dir", str(tmp_path)])
    assert status.exit_code == 0 and "next: labctl up" in status.stderr
    assert (
        json.loads(runner.invoke(app, ["status", "--run-dir", str(tmp_path), "--json"]).stdout)
        == {}
    )
    down = runner.invoke(app, ["down", "--run-dir", str(tmp_path)])
    assert down.exit_code == 0 and "nothing was running" in down.stderr


@pytest.mark.integration
def test_status_lists_the_running_processes(live_service: LiveService) -> None:
    result = runner.invoke(app, ["status", "--run-dir", str(live_service.run_dir), "--json"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["service"]["pid"] == live_service.record.pid
    check_json("status", body, keyed_by_data=True)
    table = runner.invoke(app, ["status", "--run-dir", str(live_service.run_dir)])
    assert str(live_service.record.pid) in table.stdout and "next:" not in table.stderr


def test_up_without_prometheus_says_how_to_install_it_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    result = runner.invoke(app, ["up", "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 3 and "sudo apt-get install prometheus" in result.stderr
    assert not (tmp_path / "run").exists()
