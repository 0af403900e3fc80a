"""A row of the GC-tuning table, as ``labctl lab gc-tuning --json`` prints it (the comparison
itself runs live in notebook 05)."""

from labctl.records.client_latency import ClientLatency
from labctl.records.gc_trials import GcTrial
from tests.labctl.cli_surface import check_json


def test_a_trial_prints_every_column_of_the_table() -> None:
    client = ClientLatency.of(40.0, 120, [0.002] * 118 + [0.3, 0.5], errors=0)
    trial = GcTrial("default (700, 10, 10)", 3.0, 90, 0.004, 0.05, 2, 40, 0.01, 1.5e8, 0, 42,
                    client, 0.5, 3)  # fmt: skip
    body = trial.to_json()
    assert body["setting"] == "default (700, 10, 10)" and body["pid"] == 42
    assert body["client"]["p999_seconds"] == 0.5 and body["client"]["p50_seconds"] == 0.002
    check_json("lab gc-tuning", [body])
