"""The websocket crowd's refusals (its running is measured by the ws fault test and lab 09)."""

from pathlib import Path

import pytest

from labctl.stack.supervisor import Stack
from labctl.stack.ws_crowd import CrowdError, main, start_crowd


def test_a_crowd_needs_a_sane_size_and_a_running_service(tmp_path: Path) -> None:
    with pytest.raises(CrowdError, match="between 1 and") as bad:
        start_crowd(Stack(tmp_path).status(), clients=0, reconnect=5)
    assert bad.value.exit_code == 2
    with pytest.raises(CrowdError, match="no service is running") as missing:
        start_crowd(Stack(tmp_path).status(), clients=10, reconnect=5)
    assert missing.value.exit_code == 3


def test_the_module_refuses_a_bad_count_with_a_usage_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["ws://127.0.0.1:9/ws/clicks", "0"])
    assert exited.value.code == 2
    assert "clients must be between 1 and" in capsys.readouterr().err
