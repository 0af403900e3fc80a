"""A finding: one builder, and the JSON ``labctl diagnose --json`` has always printed."""

from labctl.records.findings import Diagnosis, Finding
from labctl.records.location import UNKNOWN, Location


def test_a_finding_with_no_place_names_none_and_rounds_its_score() -> None:
    unplaced = Finding.at("cardinality", None, "/metrics grew", 0.123456)
    assert unplaced.location == UNKNOWN and unplaced.score == 0.123
    assert unplaced.to_json() == {
        "kind": "cardinality", "function": "?", "file": "?", "line": 0,
        "evidence": "/metrics grew", "score": 0.123,
    }  # fmt: skip


def test_a_diagnosis_lists_its_findings_in_order() -> None:
    first = Finding.at("cpu", Location("spin", "/srv/app/m.py", 9), "90% of samples", 0.9)
    second = Finding.at("memory", Location("keep", "/srv/app/m.py", 20), "RSS grew", 0.4)
    body = Diagnosis(1, 5, [first, second], elapsed_seconds=5.5678).to_json()
    assert [f["function"] for f in body["findings"]] == ["spin", "keep"]
    assert body["elapsed_seconds"] == 5.57
