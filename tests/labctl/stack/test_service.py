"""The patient as a process: its command line reads every path from the run layout."""

from pathlib import Path

from labctl.contract import RunLayout
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import ProcessRecord
from labctl.stack.service import mailed_port, service_command


def flag(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_the_service_keeps_its_state_where_the_layout_says() -> None:
    layout = RunLayout(Path("/tmp/lab-run"))
    ports = ServicePorts(8000, 8001, 9464, 6060, 2525, 9465)
    cmd = service_command(ports, layout)
    assert flag(cmd, "--db") == str(layout.db)
    assert flag(cmd, "--flags-file") == str(layout.flags)
    assert flag(cmd, "--debug-token-file") == str(layout.debug_token)
    assert (flag(cmd, "--port"), flag(cmd, "--debug-port")) == ("8000", "6060")
    record = ProcessRecord("service", 1, 0.0, cmd, "log")
    assert mailed_port(record, 1) == 2525
    assert mailed_port(ProcessRecord("service", 1, 0.0, ["leaky-app"], "log"), 1) == 1
