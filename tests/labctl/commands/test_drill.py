"""``labctl drill`` without a drill says so, before it asks the service anything (a whole
drill runs in tests/labctl/course/test_incidents.py)."""

from pathlib import Path

from typer.testing import CliRunner

from labctl.cli import app

runner = CliRunner()


def test_answer_and_reveal_without_a_drill_say_so(tmp_path: Path) -> None:
    for args in (["drill", "answer", "X.y"], ["drill", "reveal", "--json"]):
        result = runner.invoke(app, [*args, "--run-dir", str(tmp_path)])
        assert result.exit_code == 3 and "no drill is running" in result.stderr, args
        assert result.stdout == ""


def test_start_needs_the_service(tmp_path: Path) -> None:
    result = runner.invoke(app, ["drill", "start", "--seed", "3", "--run-dir", str(tmp_path)])
    assert result.exit_code == 3 and "labctl up" in result.stderr
