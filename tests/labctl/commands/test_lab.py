"""``labctl lab`` in-process: the catalogue as JSON, refusals and their codes (runs against a
live stack are tests/labctl/course/test_lab_runs.py and the notebooks)."""

import json
from pathlib import Path

from typer.testing import CliRunner

from labctl.cli import app
from labctl.course.catalogue import all_labs
from tests.labctl.cli_surface import check_json

runner = CliRunner()


def test_list_prints_every_lab_by_symptom() -> None:
    result = runner.invoke(app, ["lab", "list", "--json"])
    labs = json.loads(result.stdout)
    assert [lab["number"] for lab in labs] == [lab.number for lab in all_labs()]
    check_json("lab list", labs)
    table = runner.invoke(app, ["lab", "list"])
    assert all_labs()[0].title in table.stdout and "labctl lab start 01" in table.stderr


def test_refusals_say_why_with_their_codes(tmp_path: Path) -> None:
    run_dir = ["--run-dir", str(tmp_path)]
    cases = [
        (["lab", "start", "99", *run_dir], 2, "no lab '99'"),
        (["lab", "check", "05", *run_dir], 2, "give --answer Class.method, or --fix"),
        (["lab", "start", "01", *run_dir], 3, "the service is not running"),
        (["lab", "check", "01", "--answer", "x", *run_dir], 3, "the service is not running"),
        (["lab", "gc-tuning", "--seconds", "3", *run_dir], 3, "labctl up"),
        (["lab", "verify", "01", *run_dir], 3, "the service is not running"),
    ]
    for args, code, says in cases:
        result = runner.invoke(app, args)
        assert (result.exit_code, says in result.stderr) == (code, True), (args, result.stderr)
    too_short = runner.invoke(app, ["lab", "gc-tuning", "--seconds", "1", *run_dir])
    assert too_short.exit_code == 2 and "--seconds" in too_short.stderr


def test_stop_with_nothing_running_is_all_clear(tmp_path: Path) -> None:
    result = runner.invoke(app, ["lab", "stop", "--run-dir", str(tmp_path)])
    assert result.exit_code == 0 and "no lab was running; all clear" in result.stderr
