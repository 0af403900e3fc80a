"""The reputation service's command line reads the run layout's PKI folder."""

from __future__ import annotations

from pathlib import Path

from labctl.contract import RunLayout
from labctl.stack.reputation_service import reputation_command


def test_the_service_reads_its_certificates_from_the_layout() -> None:
    layout = RunLayout(Path("/tmp/lab-run"))
    cmd = reputation_command(layout, 50051, 9466)
    assert cmd[1:3] == ["-m", "reputation"]
    assert cmd[cmd.index("--pki") + 1] == str(layout.pki)
    assert (cmd[cmd.index("--port") + 1], cmd[cmd.index("--metrics-port") + 1]) == ("50051", "9466")
