"""``labctl smtp status|fail|heal`` in-process: counts, refusals, and the switch they flip."""

import json
from pathlib import Path

from typer.testing import CliRunner

from labctl.cli import app
from labctl.stack.mail_sink import Mailbox
from tests.labctl.cli_surface import check_json

runner = CliRunner()


def test_status_of_an_empty_sink(tmp_path: Path) -> None:
    result = runner.invoke(app, ["smtp", "status", "--dir", str(tmp_path), "--json"])
    body = json.loads(result.stdout)
    assert body == {"messages": 0, "distinct_notices": 0, "fail_rate": 0.0,
                    "directory": str(tmp_path)}  # fmt: skip
    check_json("smtp status", body)


def test_fail_and_heal_flip_the_sinks_switch_and_a_bad_rate_is_refused(tmp_path: Path) -> None:
    args = ["--dir", str(tmp_path)]
    assert runner.invoke(app, ["smtp", "fail", "--rate", "0.5", *args]).exit_code == 0
    assert Mailbox(tmp_path).fail_rate() == 0.5
    refused = runner.invoke(app, ["smtp", "fail", "--rate", "2", *args])
    assert refused.exit_code == 2 and "--rate must be between 0 and 1" in refused.stderr
    assert Mailbox(tmp_path).fail_rate() == 0.5  # the refusal kept what was set
    assert runner.invoke(app, ["smtp", "heal", *args]).exit_code == 0
    assert Mailbox(tmp_path).fail_rate() == 0.0
