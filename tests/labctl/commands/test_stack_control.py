"""``labctl preflight|up|down|status|attach`` in-process: what they say and print, and their
codes."""

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.cli import app
from labctl.contract import RunLayout
from labctl.stack.processes import ProcessRecord
from labctl.stack.supervisor import Stack
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
    assert down.exit_code == 0 and "nothing labctl started was running" in down.stderr


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


def _attach_args(service: LiveService, tokens: Path, run_dir: Path) -> list[str]:
    ports = service.ports
    return ["attach", "--api-url", service.url,
            "--debug-url", f"http://127.0.0.1:{ports.debug}",
            "--metrics-url", service.metrics_url,
            "--stream-url", f"ws://127.0.0.1:{ports.stream}",
            "--token-file", str(tokens / "debug.token"), "--run-dir", str(run_dir)]  # fmt: skip


@pytest.fixture
def tokens(live_service: LiveService, tmp_path: Path) -> Path:
    """Copies of the live service's tokens, as a compose user copies them out of the app."""
    layout = RunLayout(live_service.run_dir)
    folder = tmp_path / "tokens"
    folder.mkdir()
    for source in (layout.debug_token, layout.operator_token):
        (folder / source.name).write_text(source.read_text())
    return folder


@pytest.mark.integration
def test_attach_records_a_service_labctl_did_not_start_and_down_leaves_it_running(
    live_service: LiveService, tokens: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "attached"
    args = _attach_args(live_service, tokens, run_dir)
    args += ["--operator-token-file", str(tokens / "operator.token")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    # Found by the port it listens on, as `labctl attach` with no --pid finds it.
    assert f"pid {live_service.record.pid}" in result.stderr
    assert (RunLayout(run_dir).debug_token.stat().st_mode & 0o777) == 0o600
    listing = runner.invoke(app, ["fault", "list", "--run-dir", str(run_dir), "--json"])
    assert listing.exit_code == 0, listing.stderr
    assert {"cpu_hotloop", "task_leak"} <= {f["id"] for f in json.loads(listing.stdout)}
    down = runner.invoke(app, ["down", "--run-dir", str(run_dir)])
    assert down.exit_code == 0 and "attached, not started by labctl" in down.stderr
    assert live_service.record.alive()


@pytest.fixture
def not_python() -> Iterator[ProcessRecord]:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        yield ProcessRecord("sleep", proc.pid, 0.0, ["sleep"], "")
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.integration
def test_attach_refuses_what_it_cannot_use_and_records_nothing(
    live_service: LiveService, tokens: Path, tmp_path: Path, not_python: ProcessRecord
) -> None:
    run_dir = tmp_path / "attached"
    args = _attach_args(live_service, tokens, run_dir)
    (tokens / "wrong.token").write_text("not-the-token\n")
    wrong = [*args[:-4], "--token-file", str(tokens / "wrong.token"), *args[-2:]]
    cases = {
        "a wrong token": (wrong, "attached nothing"),
        "no token file": ([*args[:-4], "--token-file", str(tokens / "none"), *args[-2:]],
                          "cannot read the debug token"),
        "a pid that is not Python": ([*args, "--pid", str(not_python.pid)],
                                     "is not a Python process"),
        "a pid that does not exist": ([*args, "--pid", "999999999"], "no process has pid"),
        "a URL that is not http": ([*args, "--api-url", "ftp://127.0.0.1:1"],
                                   "is not an http:// URL"),
    }  # fmt: skip
    for case, (argv, message) in cases.items():
        result = runner.invoke(app, argv)
        assert result.exit_code == 2, (case, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, (case, result)
        assert Stack(run_dir).status().running == {}, case
    # A run directory whose service labctl started keeps its own tokens.
    held = runner.invoke(app, [*args[:-2], "--run-dir", str(live_service.run_dir)])
    assert held.exit_code == 2 and "attach into another --run-dir" in held.stderr
    assert Stack(live_service.run_dir).status().running["service"].pid == live_service.record.pid
