"""Lab 05's GC-tuning exercise in one run against a whole stack: four settings, one window
each, compared within the run."""

import json
from pathlib import Path

import pytest

from labctl.cli import main
from labctl.patient import Patient

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
def test_four_gc_settings_side_by_side(lab_stack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["lab", "gc-tuning", "--seconds", "6", "--run-dir", str(lab_stack), "--json"]
    assert main(args) == 0, capsys.readouterr().err
    default, raised, frozen, fixed = json.loads(capsys.readouterr().out)
    settings = [t["setting"].split(" ")[0] for t in (default, raised, frozen)]
    assert settings == ["default", "raised", "gc.freeze()"]
    assert fixed["setting"].startswith("cycle removed")
    assert all(t["requests"] > 50 for t in (default, raised, frozen, fixed))
    # Ten times the gen-0 threshold: gen-0 collections per request fall well below a third.
    per_request = [t["young_collections"] / t["requests"] for t in (default, raised)]
    assert per_request[1] < per_request[0] / 3, per_request
    # The freeze moved the long-lived geo table (hundreds of thousands of objects) out.
    # (The default row has the service's start-up freeze: its imported modules.)
    assert frozen["frozen_objects"] > default["frozen_objects"] + 100_000
    # The fixed code ran as its own process, which is gone again; the lab's service stays,
    # with its start-up freeze back and the geo table not in it.
    with Patient.from_run_dir(lab_stack) as patient:
        assert fixed["pid"] != patient.pid and default["pid"] == patient.pid
        assert patient.faults().active == {}  # the lab stopped
        assert 0 < patient.gc().frozen_objects < default["frozen_objects"] + 50_000
