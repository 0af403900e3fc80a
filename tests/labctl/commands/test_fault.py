"""``labctl fault`` against a real stack started with ``labctl up``."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from labctl.cli import main
from leaky_app.faults import CATALOGUE
from tests.labctl.cli_surface import check_json
from tests.live import FaultLab

pytestmark = pytest.mark.integration


@pytest.fixture
def run_dir(fault_lab: FaultLab) -> Iterator[Path]:
    """The shared live service's run directory; every fault is off again afterwards."""
    try:
        yield fault_lab.service.run_dir
    finally:
        fault_lab.all_off()


def test_fault_list_shows_the_services_catalogue(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fault", "list", "--run-dir", str(run_dir), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    check_json("fault list", listed)
    assert [f["id"] for f in listed] == [spec.id for spec in CATALOGUE]
    assert all(f["active"] is None for f in listed)
    assert listed[0]["summary"] == CATALOGUE[0].summary


def test_fault_on_off_round_trip(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--run-dir", str(run_dir)]
    assert main(["fault", "on", "task_leak", "--intensity", "10x", *args]) == 0
    assert "task_leak 10x" in capsys.readouterr().err
    assert main(["fault", "list", *args, "--json"]) == 0
    active = {f["id"]: f["active"] for f in json.loads(capsys.readouterr().out)}
    assert active["task_leak"] == "10x"
    assert main(["fault", "off", "--all", *args]) == 0
    assert "active now: none" in capsys.readouterr().err


def test_fault_errors_are_sentences_with_exit_codes(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--run-dir", str(run_dir)]
    assert main(["fault", "on", "nope", *args]) == 2
    assert "unknown fault 'nope'" in capsys.readouterr().err
    assert main(["fault", "on", "gc_churn", "--intensity", "3x", *args]) == 2
    assert "intensity must be one of" in capsys.readouterr().err
    assert main(["fault", "off", *args]) == 2
    assert "name one fault, or pass --all" in capsys.readouterr().err
    assert main(["fault", "list", "--run-dir", str(tmp_path / "empty")]) == 3
    assert "not running" in capsys.readouterr().err
