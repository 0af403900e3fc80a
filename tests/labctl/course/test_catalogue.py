"""The lab catalogue is data, and this keeps it honest: every fault has a lab, every lab
names a real fault, alert, dashboard and command, and no page gives its answer away."""

import re
import shlex
from pathlib import Path

import pytest
import yaml

from labctl.cli import main
from labctl.course.catalogue import LABS_DIR, Lab, LabError, Signal, all_labs, load_lab
from labctl.course.dashboard_catalogue import DASHBOARDS
from leaky_app.faults import CATALOGUE, INTENSITIES

ROOT = LABS_DIR.parent

LABS = all_labs()
FAULTS = {f.id: f for f in CATALOGUE}
ALERTS = {
    rule["alert"]
    for group in yaml.safe_load((ROOT / "dashboards/prometheus/alerts.rules.yml").read_text())[
        "groups"
    ]
    for rule in group["rules"]
}


def test_labs_are_numbered_in_order_and_every_fault_has_one() -> None:
    assert [lab.number for lab in LABS] == [f"{i:02d}" for i in range(1, len(LABS) + 1)]
    assert sorted(lab.fault for lab in LABS) == sorted(FAULTS)


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.number)
def test_a_lab_names_real_parts(lab: Lab) -> None:
    assert lab.fault in FAULTS
    assert lab.intensity in INTENSITIES
    assert lab.alert in ALERTS
    assert lab.dashboard in {d.uid for d in DASHBOARDS}
    assert lab.readme.is_file() and lab.solution.is_file()
    for tool in lab.tools:
        if tool.startswith("labctl "):
            assert main([*shlex.split(tool)[1:], "--help"]) == 0, tool


@pytest.mark.parametrize("lab", LABS, ids=lambda lab: lab.number)
def test_the_page_does_not_give_the_answer_away(lab: Lab) -> None:
    _, _, qualname = FAULTS[lab.fault].culprit.partition(":")
    page = lab.readme.read_text()
    giveaways = {lab.fault, lab.fault.replace("_", " "), qualname, *qualname.split(".")[:-1]}
    assert not [g for g in giveaways if g.lower() in page.lower()]
    assert not set(lab.fault.split("_")) <= set(lab.slug.split("-"))  # symptom words may overlap
    # What the page must say: the alert, where to look, how to answer.
    assert lab.alert in page and lab.dashboard in page
    assert f"labctl lab check {lab.number} --answer" in page
    assert FAULTS[lab.fault].culprit in lab.solution.read_text()


def test_labs_index_lists_the_commands() -> None:
    index = (LABS_DIR / "README.md").read_text()
    for command in ("lab list", "lab start", "lab check", "lab stop", "lab verify"):
        assert command in index


def _lab_folder(root: Path, name: str, toml: str) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "lab.toml").write_text(toml)


VALID = """title = "t"
fault = "fd_leak"
intensity = "1x"
alert = "A"
dashboard = "d"
question = "q"
tools = ["x"]
[[signals]]
name = "n"
promql = "up"
compare = "ratio"
threshold = 2
"""


@pytest.mark.parametrize(
    ("name", "toml", "message"),
    [
        ("1-short", VALID, "named NN-symptom"),
        ("01-ok", VALID + "colour = 'red'\n", "colour: Extra inputs are not permitted"),
        ("01-ok", VALID.replace('compare = "ratio"', 'compare = "bigger"'), "signals.0.compare"),
        ("01-ok", VALID.replace("threshold = 2", "threshold = 0"), "signals.0.threshold"),
        ("01-ok", VALID.replace("[[signals]]", "[[signals]"), "not valid TOML"),
        ("01-ok", VALID.split("[[signals]]")[0], "signals: Field required"),
    ],
)
def test_a_bad_lab_toml_is_refused_with_where_and_why(
    tmp_path: Path, name: str, toml: str, message: str
) -> None:
    _lab_folder(tmp_path, name, toml)
    with pytest.raises(LabError, match=re.escape(message)):
        all_labs(tmp_path)


def test_labs_are_found_by_number_or_folder_and_unknown_ones_listed(tmp_path: Path) -> None:
    _lab_folder(tmp_path, "01-something-odd", VALID)
    assert load_lab("1", tmp_path).slug == "something-odd"
    assert load_lab("01-something-odd", tmp_path).number == "01"
    with pytest.raises(LabError, match=r"no lab '7'; the labs are: 01 \(t\)") as caught:
        load_lab("7", tmp_path)
    assert caught.value.exit_code == 2


def test_lab_cli_refuses_unknown_labs_with_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "start", "99", "--run-dir", "/nonexistent"]) == 2
    assert "no lab '99'" in capsys.readouterr().err


def test_the_baseline_waits_out_the_longest_range_of_any_signal(tmp_path: Path) -> None:
    toml = VALID.replace('promql = "up"', "promql = 'rate(x[20s]) / rate(y[1m])'")
    _lab_folder(tmp_path, "01-ok", toml + "[load]\nwarmup_seconds = 3\n")
    assert load_lab("01", tmp_path).settle_seconds == 63


def test_the_readme_lists_every_lab_with_its_alert() -> None:
    readme = (ROOT / "README.md").read_text()
    for lab in LABS:
        row = f"| [{lab.number}](labs/{lab.number}-{lab.slug}/README.md) | {lab.title}"
        assert row in readme and lab.alert in readme, row


def test_a_signal_counts_as_recovered_halfway_back() -> None:
    ratio = Signal(name="r", promql="x", compare="ratio", threshold=5)
    assert ratio.met(1.0, 5.0) and not ratio.recovered(1.0, 5.0)
    assert not ratio.recovered(1.0, 3.0) and ratio.recovered(1.0, 2.9)  # baseline + half of 4x
    above = Signal(name="a", promql="x", compare="above", threshold=20)
    assert above.met(None, 25) and not above.recovered(None, 10)
    assert above.recovered(None, 9.9) and not above.recovered(None, None)
