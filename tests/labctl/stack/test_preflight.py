import json
import socket
from pathlib import Path

import pytest

from labctl.cli import main
from labctl.stack.preflight import check_attach_debugger, check_port, check_tool
from tests.labctl.cli_surface import check_json


def test_a_missing_tool_says_how_to_install_it() -> None:
    check = check_tool("no-such-profiler-xyz", ("--version",), "pip install it", True)
    assert not check.ok
    assert check.fix == "pip install it"
    assert check.required


def test_a_taken_port_is_reported_with_a_way_out() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        check = check_port("service", sock.getsockname()[1])
    assert not check.ok
    assert "in use" in check.detail
    assert "free port" in check.fix


def test_this_machine_has_what_the_lab_needs(capsys: pytest.CaptureFixture[str]) -> None:
    # make test installs the profilers and Debian's prometheus and lldb, so nothing required
    # may be missing here; a gap fails with the sentence that fixes it.
    code = main(["preflight", "--json"])
    checks = json.loads(capsys.readouterr().out)
    check_json("preflight", checks)
    names = {c["name"] for c in checks}
    assert {
        "py-spy", "memray", "debugger for memray attach", "prometheus",
        "ptrace (py-spy, memray attach)",
    } <= names  # fmt: skip
    gaps = [f"{c['name']}: {c['fix']}" for c in checks if c["required"] and not c["ok"]]
    assert code == (1 if gaps else 0)
    assert gaps == []


def test_no_debugger_for_memray_attach_says_to_install_lldb(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither lldb nor gdb
    check = check_attach_debugger()
    assert not check.ok
    assert "apt-get install lldb" in check.fix
