"""The public API fuzzed against its own OpenAPI spec (issue 21): schemathesis, all checks, all
phases (examples, coverage, fuzzing, and stateful along the spec's links), against a real
service on loopback, with a bounded number of examples so it fits the suite. Schemathesis's
checks find 5xx, undocumented statuses, bodies that break their schema, schema-valid requests
refused and schema-invalid ones accepted, and a 405 without ``Allow``; our own
(``fuzz_hooks.py``) finds a refused request that changed what is stored.

Schemathesis runs as a tool in a venv of its own, ``.venv-fuzz`` (``make test`` builds it from
``requirements-fuzz.lock``): the main venv's urllib3-future breaks its requests transport."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from labctl.contract import RunLayout
from labctl.stack.ports import ServicePorts
from labctl.stack.processes import stop
from labctl.stack.service import start_service

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ST = REPO / ".venv-fuzz" / "bin" / "st"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 30  # per operation and phase: about 700 cases, some 15 s


def test_every_route_keeps_its_spec_under_fuzzing_and_refusals_change_nothing(
    tmp_path: Path,
) -> None:
    assert ST.exists(), f"{ST} is missing: `make test` builds it (requirements-fuzz.lock)"
    layout = RunLayout(tmp_path)
    record = start_service(layout, ServicePorts.free(), extra_args=["--no-notify-enabled"])
    try:
        spec = httpx.get(f"{record.urls['api']}/openapi.json", timeout=10).json()
        operations = sum(
            method in {"get", "put", "post", "delete", "patch"}
            for path in spec["paths"].values()
            for method in path
        )
        cmd = [str(ST), "--config-file", str(CONFIG), "run", f"{record.urls['api']}/openapi.json",
               "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
               "--max-examples", str(MAX_EXAMPLES), "--continue-on-failure",
               "--request-timeout", "10"]  # fmt: skip
        print("+ " + " ".join(cmd))
        tally = tmp_path / "refusals.json"
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.integration.fuzz_hooks",
               "LAB_FUZZ_DB": str(layout.db), "LAB_FUZZ_TALLY": str(tally),
               "PYTHONPATH": str(REPO), "NO_COLOR": "1"}  # fmt: skip
        run = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True,
                             timeout=600, check=False)  # fmt: skip
    finally:
        stop(record)
    report = run.stdout + run.stderr
    print(report[-3000:])
    assert run.returncode == 0, report[-8000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", report)
    assert cases is not None and int(cases[1]) == int(cases[2]) >= 300, report[-2000:]
    assert re.search(rf"Tested: {operations}\b", report), f"not every one of {operations} ran"
    # Our check ran on the refusals: the hooks were loaded and found nothing changed.
    assert json.loads(tally.read_text())["refusals"] >= 100
