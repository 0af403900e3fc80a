"""The contract both sides share, checked against each side: ``.env`` (compose), the
patient's ``Settings`` and registry, and the doctor's :mod:`labctl.contract`. ``labctl``
never imports ``leaky_app``; this test imports both."""

import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from labctl import contract
from labctl.contract import CAPTURE, DEBUG_WINDOW_MAX_SECONDS, Metric, RunLayout
from labctl.course.catalogue import all_labs
from labctl.course.dashboard_catalogue import FAULT_ANNOTATIONS, all_queries
from labctl.errors import LabctlError
from labctl.stack.mail_sink import Mailbox, SinkHandler
from leaky_app.app import create_app
from leaky_app.debug.server import DEFAULT_MAX_SECONDS, DEFAULT_PORT
from leaky_app.settings import Settings
from reputation import server as reputation_server
from reputation.server import Metrics as ReputationMetrics

ROOT = Path(__file__).parents[2]
ENV = dict(
    line.split("=", 1)
    for line in (ROOT / ".env").read_text().splitlines()
    if line and not line.startswith("#")
)
NAME = re.compile(r"\b(?:leaky_app|process|lab|reputation)_[a-z_]+")


def test_env_settings_and_contract_give_the_same_ports() -> None:
    defaults = Settings(_env_file=None)
    pairs = {
        "APP_PORT": (contract.SERVICE_PORT, defaults.port),
        "STREAM_PORT": (contract.STREAM_PORT, defaults.stream_port),
        "METRICS_PORT": (contract.METRICS_PORT, defaults.metrics_port),
        "DEBUG_PORT": (contract.DEBUG_PORT, defaults.debug_port),
        "SMTP_PORT": (contract.SMTP_PORT, defaults.smtp_port),
    }
    for key, (doctor, patient) in pairs.items():
        assert int(ENV[key]) == doctor == patient, key
    assert int(ENV["PROMETHEUS_PORT"]) == contract.PROMETHEUS_PORT
    assert int(ENV["REDIS_PORT"]) == contract.REDIS_PORT
    assert int(ENV["REPUTATION_PORT"]) == contract.REPUTATION_PORT == reputation_server.DEFAULT_PORT
    assert contract.REPUTATION_METRICS_PORT == reputation_server.DEFAULT_METRICS_PORT
    assert int(ENV["GRAFANA_PORT"]) == contract.GRAFANA_PORT
    assert int(ENV["JUPYTER_PORT"]) == contract.JUPYTER_PORT
    assert DEFAULT_PORT == contract.DEBUG_PORT


def test_the_patients_default_files_are_the_layouts() -> None:
    defaults, layout = Settings(_env_file=None), RunLayout(Path("run"))
    assert (defaults.db, defaults.flags_file, defaults.debug_token_file) == (
        layout.db, layout.flags, layout.debug_token,
    )  # fmt: skip


def test_the_capture_window_and_the_patients_cap_agree() -> None:
    assert Settings(_env_file=None).debug_max_seconds == DEBUG_WINDOW_MAX_SECONDS
    assert DEFAULT_MAX_SECONDS == DEBUG_WINDOW_MAX_SECONDS
    assert CAPTURE.min_seconds <= DEBUG_WINDOW_MAX_SECONDS <= CAPTURE.max_seconds
    assert CAPTURE.check(10.0) == 10
    for wrong, says in ((2.5, "whole seconds"), (0, "between 1 and"), (3601, "between 1 and")):
        with pytest.raises(LabctlError, match=says) as refused:
            CAPTURE.check(wrong)
        assert refused.value.exit_code == 2


def _exposed(tmp_path: Path) -> set[str]:
    """Every sample name the patient's registry (and the sink's, and the reputation
    service's) can expose."""
    names: set[str] = set()
    patient = CollectorRegistry()
    settings = Settings(_env_file=None, db=tmp_path / "t.db", flags_file=tmp_path / "f.json",
                        metrics_port=0, stream_port=0, debug_enabled=False)  # fmt: skip
    create_app(settings, patient)
    sink = CollectorRegistry()
    SinkHandler(Mailbox(tmp_path / "smtp"), sink).close()
    for registry in (patient, sink, ReputationMetrics().registry):
        for family in registry.collect():
            names |= {family.name, f"{family.name}_total", f"{family.name}_bucket",
                      f"{family.name}_count"}  # fmt: skip
    # The process collector is prometheus-client's own, on the real /metrics thread.
    names |= {"process_cpu_seconds_total", "process_resident_memory_bytes",
              "process_open_fds", "process_max_fds"}  # fmt: skip
    return names


def test_every_metric_name_labctl_reads_is_one_the_patient_exposes(tmp_path: Path) -> None:
    exposed = _exposed(tmp_path)
    missing = [m.value for m in Metric if m.value not in exposed]
    assert missing == []


def test_every_name_in_a_dashboard_lab_or_annotation_is_in_the_contract() -> None:
    known = {name for m in Metric for name in (m.value, m.bucket, m.observations, m.summed)}
    texts = [expr for _, _, expr in all_queries()] + [a.expr for a in FAULT_ANNOTATIONS]
    texts += [s.promql for lab in all_labs() for s in lab.signals]
    for rules in ("alerts.rules.yml", "recording.rules.yml"):
        doc = yaml.safe_load((ROOT / "dashboards" / "prometheus" / rules).read_text())
        texts += [rule["expr"] for group in doc["groups"] for rule in group["rules"]]
    used = {name for text in texts for name in NAME.findall(text)}
    assert sorted(used - known) == []
