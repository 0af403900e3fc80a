"""``labctl top`` against the shared live service: vitals checked against the load that made
them and against a fault's symptom in the same run."""

import json

import pytest

from labctl.cli import main
from tests.integration.load import load
from tests.labctl.cli_surface import check_json
from tests.live import FaultLab


def top_once(run_dir: str, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    args = ["top", "--run-dir", run_dir, "--frames", "1", "--interval", "3", "--json"]
    assert main(args) == 0
    body: dict[str, object] = json.loads(capsys.readouterr().out)
    check_json("top", body)
    return body


def cpu_per_request(v: dict[str, object]) -> float:
    cpu, rps = v["cpu_percent"], v["requests_per_second"]
    assert isinstance(cpu, float) and isinstance(rps, float) and rps > 0
    return cpu / rps


@pytest.mark.integration
def test_top_counts_the_load_and_shows_a_hot_loops_cpu_per_request(
    fault_lab: FaultLab, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = str(fault_lab.service.run_dir)
    fault_lab.all_off()
    with load(fault_lab.service.url, fault_lab.codes, threads=2) as driver:
        sent = driver.stats.requests
        clean = top_once(run_dir, capsys)
        sent = driver.stats.requests - sent
        fault_lab.switch("cpu_hotloop", "10x")
        try:
            hot = top_once(run_dir, capsys)
            assert main(["top", "--run-dir", run_dir, "--frames", "1", "--interval", "1"]) == 0
            screen = capsys.readouterr().out
        finally:
            fault_lab.switch("cpu_hotloop", None)
    rps = clean["requests_per_second"]
    assert isinstance(rps, float)
    # The driver's count spans the two scrapes and a little more (the command's start).
    assert 0.5 < rps * 3 / sent < 1.5, (rps, sent)
    assert isinstance(clean["rss_bytes"], float) and clean["rss_bytes"] > 10 * 2**20
    assert isinstance(clean["open_fds"], float) and clean["open_fds"] > 0
    assert cpu_per_request(hot) > 3 * cpu_per_request(clean), (hot, clean)
    assert hot["active_faults"] == ["cpu_hotloop"]
    assert "requests/s" in screen and "cpu_hotloop" in screen
