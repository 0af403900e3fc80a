"""``labctl reputation check|block|rotate`` against the lab stack's real reputation service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labctl.cli import app

runner = CliRunner()


def test_without_a_stack_each_command_says_how_to_start_one(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["reputation", "check", "https://a.org/", "--run-dir", str(tmp_path)]
    )
    assert result.exit_code == 3
    assert "the reputation service is not running" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.integration
def test_check_block_and_rotate_on_the_live_service(lab_stack: Path) -> None:
    run = ["--run-dir", str(lab_stack)]
    safe = runner.invoke(app, ["reputation", "check", "https://docs.example.org/", *run, "--json"])
    assert safe.exit_code == 0, safe.stderr
    assert json.loads(safe.stdout)["safe"] is True
    assert "gRPC CheckUrl to 127.0.0.1:" in safe.stderr  # it says what it runs

    blocked = runner.invoke(app, ["reputation", "block", "ads.example.org", *run, "--json"])
    assert blocked.exit_code == 0 and json.loads(blocked.stdout)["added"] is True
    again = runner.invoke(app, ["reputation", "block", "ads.example.org", *run])
    assert "already blocked" in again.stderr

    refused = runner.invoke(app, ["reputation", "check", "https://x.ads.example.org/", *run])
    assert refused.exit_code == 4
    assert (
        "refused (blocked_host)" in refused.stderr and "next: labctl reputation" in refused.stderr
    )

    malformed = runner.invoke(app, ["reputation", "check", "https:///nohost", *run])
    assert malformed.exit_code == 2
    assert "refused CheckUrl: INVALID_ARGUMENT" in malformed.stderr
    assert "Traceback" not in malformed.stderr + malformed.stdout

    rotated = runner.invoke(app, ["reputation", "rotate", *run, "--json"])
    assert rotated.exit_code == 0, rotated.stderr
    assert json.loads(rotated.stdout)["renewed"] == ["reputation", "leaky-app", "labctl"]
    # The running service took the new certificate on that call's handshake.
    log = (lab_stack / "logs" / "reputation.log").read_text()
    assert "loaded the rotated server certificate" in log


def test_pki_creates_what_is_missing_and_then_nothing(tmp_path: Path) -> None:
    first = runner.invoke(app, ["reputation", "pki", "--dir", str(tmp_path / "pki"), "--json"])
    assert first.exit_code == 0, first.stderr
    assert "ca" in json.loads(first.stdout)["written"]
    again = runner.invoke(app, ["reputation", "pki", "--dir", str(tmp_path / "pki")])
    assert again.exit_code == 0 and "everything is there and fresh" in again.stderr
