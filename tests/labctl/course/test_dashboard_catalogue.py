"""The dashboard catalogue: committed JSON equals a fresh build, every panel answers a
stated question in a stated unit, and provisioning points at the same datasource uid."""

import json
from pathlib import Path

import pytest
import yaml

from labctl.cli import main
from labctl.course import dashboard_catalogue as dashboards

ROOT = Path(__file__).parents[3]
PROVISIONING = ROOT / "dashboards" / "grafana" / "provisioning"


def test_committed_json_equals_a_fresh_build(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "build", "--check"]) == 0, capsys.readouterr().err
    on_disk = {p.name for p in dashboards.OUT_DIR.glob("*.json")}
    assert on_disk == {spec.filename for spec in dashboards.DASHBOARDS}


def test_every_panel_has_a_unit_a_question_and_a_query() -> None:
    for spec in dashboards.DASHBOARDS:
        body = json.loads((dashboards.OUT_DIR / spec.filename).read_text())
        assert body["uid"] == spec.uid
        for panel in body["panels"]:
            title = f"{spec.uid}: {panel['title']}"
            assert panel["fieldConfig"]["defaults"]["unit"], title
            assert panel["description"].endswith("?"), f"{title}: say what it answers"
            assert panel["datasource"]["uid"] == dashboards.DATASOURCE_UID, title
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), title


def test_panels_do_not_overlap() -> None:
    for spec in dashboards.DASHBOARDS:
        cells: set[tuple[int, int]] = set()
        for panel in dashboards.build(spec)["panels"]:
            g = panel["gridPos"]
            mine = {
                (x, y)
                for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])
            }
            assert not cells & mine, f"{spec.uid}: {panel['title']} overlaps"
            assert g["x"] + g["w"] <= 24
            cells |= mine


def test_provisioning_uses_the_dashboards_datasource_uid() -> None:
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    assert [d["uid"] for d in datasources["datasources"]] == [dashboards.DATASOURCE_UID]
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "lab.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_the_sdk_flavour_matches_the_grafana_image() -> None:
    from importlib.metadata import version

    flavour = version("grafana-foundation-sdk").split("!")[-1]  # "<build>!<grafana version>"
    env = (ROOT / ".env").read_text()
    image = next(line for line in env.splitlines() if line.startswith("GRAFANA_IMAGE="))
    assert image.endswith(f":{flavour}"), (image, flavour)
