"""promtool over the committed config and rules, and a check that every alert is tested
both firing and staying silent."""

import shutil
import subprocess
from pathlib import Path

import yaml

PROM = Path(__file__).parents[2] / "dashboards" / "prometheus"
PROMTOOL = shutil.which("promtool")


def promtool(*args: str) -> str:
    # A missing promtool fails (never skips): `make test` installs Debian's prometheus.
    assert PROMTOOL is not None, "promtool missing: run `make system-deps`"
    result = subprocess.run(
        [PROMTOOL, *args], cwd=PROM, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_config_and_rules_are_valid() -> None:
    assert "SUCCESS" in promtool("check", "config", "prometheus.yml")
    assert "SUCCESS" in promtool("check", "rules", "recording.rules.yml", "alerts.rules.yml")


def test_rule_unit_tests_pass() -> None:
    assert "SUCCESS" in promtool("test", "rules", "rules.test.yml")


def test_every_alert_is_tested_firing_and_silent() -> None:
    alerts = {
        rule["alert"]
        for group in yaml.safe_load((PROM / "alerts.rules.yml").read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert len(alerts) >= 10
    firing: set[str] = set()
    silent: set[str] = set()
    for test in yaml.safe_load((PROM / "rules.test.yml").read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            (firing if case["exp_alerts"] else silent).add(case["alertname"])
    assert alerts <= firing, alerts - firing
    assert alerts <= silent, alerts - silent


def test_alert_texts_do_not_name_a_fault() -> None:
    text = (PROM / "alerts.rules.yml").read_text().lower()
    ids = ["cpu_hotloop", "task_leak", "unbounded_cache", "gc_churn", "loop_blocking",
           "cardinality_explosion", "fd_leak", "retry_storm"]  # fmt: skip
    assert not [fault for fault in ids if fault in text]
