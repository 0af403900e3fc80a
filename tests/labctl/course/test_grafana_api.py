"""``labctl grafana push`` and fault-switch annotations, against a stand-in for Grafana's
HTTP API (tests/grafana_standin.py: Grafana cannot run here)."""

import json
from pathlib import Path

import pytest

from labctl.cli import main
from labctl.course.dashboard_catalogue import DASHBOARDS, DATASOURCE_UID
from labctl.course.grafana_api import FOLDER_UID
from labctl.evidence.patient import Patient
from labctl.stack.ports import free_port
from tests.grafana_standin import grafana_standin
from tests.labctl.cli_surface import check_json
from tests.live import FaultLab


def push(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["grafana", "push", "--prometheus-url", "http://prom.lab:9090", "--json"])
    out = capsys.readouterr()
    if code == 0:
        check_json("grafana push", json.loads(out.out))
    return code, out.out, out.err


def datasource_uids(panel_or_target: object) -> set[str]:
    """Every datasource uid a dashboard's JSON refers to."""
    found: set[str] = set()
    if isinstance(panel_or_target, dict):
        ds = panel_or_target.get("datasource")
        if isinstance(ds, dict) and "uid" in ds:
            found.add(ds["uid"])
        for value in panel_or_target.values():
            found |= datasource_uids(value)
    elif isinstance(panel_or_target, list):
        for value in panel_or_target:
            found |= datasource_uids(value)
    return found


def test_push_creates_then_updates_without_duplicates(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with grafana_standin() as (url, grafana):
        monkeypatch.setenv("GRAFANA_URL", url)
        monkeypatch.setenv("GRAFANA_TOKEN", grafana.token)
        code, out, err = push(capsys)
        assert code == 0, err
        first = json.loads(out)
        assert first["datasource"] == "created"
        assert len(first["dashboards"]) == len(DASHBOARDS)
        code, out, _ = push(capsys)
        assert code == 0 and json.loads(out)["datasource"] == "updated"
    assert list(grafana.datasources) == [DATASOURCE_UID]
    assert grafana.datasources[DATASOURCE_UID]["url"] == "http://prom.lab:9090"
    assert list(grafana.folders) == [FOLDER_UID]
    assert sorted(grafana.dashboards) == sorted(d.uid for d in DASHBOARDS)
    for saved in grafana.dashboards.values():
        assert saved["overwrite"] is True and saved["folderUid"] == FOLDER_UID
        assert "id" not in saved["dashboard"]
        assert datasource_uids(saved["dashboard"]) == {DATASOURCE_UID}
    assert sum(r.startswith("POST /api/datasources") for r in grafana.requests) == 1


def test_push_says_what_is_wrong_with_the_setup(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GRAFANA_URL", raising=False)
    code, _, err = push(capsys)
    assert code == 2 and "GRAFANA_URL is not set" in err
    monkeypatch.setenv("GRAFANA_URL", "grafana.example")
    code, _, err = push(capsys)
    assert code == 2 and "must start with http" in err
    monkeypatch.setenv("GRAFANA_URL", f"http://127.0.0.1:{free_port()}")
    code, _, err = push(capsys)
    assert code == 3 and "does not answer" in err
    with grafana_standin() as (url, grafana):
        monkeypatch.setenv("GRAFANA_URL", url)
        monkeypatch.setenv("GRAFANA_TOKEN", "wrong")
        code, _, err = push(capsys)
    assert code == 1 and "GRAFANA_TOKEN" in err and "401" in err
    assert not grafana.datasources and not grafana.dashboards  # nothing half-written
    assert "Traceback" not in err


@pytest.mark.integration
def test_fault_switches_are_annotated_and_survive_a_missing_grafana(
    fault_lab: FaultLab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = str(fault_lab.service.run_dir)
    with grafana_standin() as (url, grafana):
        monkeypatch.setenv("GRAFANA_URL", url)
        monkeypatch.setenv("GRAFANA_TOKEN", grafana.token)
        try:
            assert main(["fault", "on", "fd_leak", "--intensity", "1x", "--run-dir", run_dir]) == 0
            assert main(["fault", "off", "fd_leak", "--run-dir", run_dir]) == 0
        finally:
            fault_lab.all_off()
    texts = [a["text"] for a in grafana.annotations]
    assert texts == ["fault fd_leak on at 1x", "fault fd_leak off"], texts
    assert all(set(a["tags"]) == {"labctl", "fault", "fd_leak"} for a in grafana.annotations)
    assert all(isinstance(a["time"], int) for a in grafana.annotations)
    capsys.readouterr()
    monkeypatch.setenv("GRAFANA_URL", f"http://127.0.0.1:{free_port()}")
    try:
        assert main(["fault", "on", "fd_leak", "--run-dir", run_dir]) == 0
        assert "no Grafana annotation" in capsys.readouterr().err
        with Patient.from_run_dir(Path(run_dir)) as patient:
            assert patient.faults().active == {"fd_leak": "1x"}  # the switch still happened
    finally:
        fault_lab.all_off()
